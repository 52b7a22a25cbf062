/**
 * The one scheduler interface. A scheduler is a small object: configured once from
 * scheduler_config.json, told how many steps to take, then asked for one update per step. Steps are
 * addressed by their index i (0 = noisiest), never by timestep value, so the caller needs no knowledge
 * of a scheduler's internals (diffusers' own comments regret inspecting `step`'s signature).
 *
 * Latents are float32 arrays holding a whole batch; every operation is element-wise, so a batch of B
 * images is just a longer array.
 */
import { SAMPLER_IDS, type SamplerId } from '../../protocol/samplers';
import type { SchedulerConfig } from './config';

/** The sampler ids of src/protocol/samplers.ts (the one vocabulary); createScheduler has a class for each. */
export const SCHEDULER_NAMES = SAMPLER_IDS;
export type SchedulerName = SamplerId;

/** A source of standard normal noise (the seeded RNG in rng.ts). */
export interface NormalSource {
  /** Fills `out` with independent N(0, 1) samples and returns it. */
  fillNormal(out: Float32Array): Float32Array;
}

export interface Scheduler {
  /** The sampler id, e.g. 'euler_a'. */
  readonly name: SchedulerName;
  /** The table's A1111 name, written into the PNG's `Sampler:` field, e.g. 'Euler a'. */
  readonly displayName: string;
  readonly config: SchedulerConfig;
  /** Training timesteps fed to the UNet, one per step, noisiest first (fractional for some spacings). */
  readonly timesteps: readonly number[];
  /**
   * Model evaluations per step where more than one (Heun: 2, its `timesteps` has 2n - 1 entries);
   * image-to-image starts at index startStep * order, as diffusers' pipelines do. Absent: 1.
   */
  readonly order?: number;
  /**
   * Where image-to-image that skips the first `step` sampling steps starts in `timesteps`, when that is
   * not step * order (PNDM: its warm-up repeats the second timestep). Absent: step * order.
   */
  startIndex?(step: number): number;
  /** Standard deviation of the initial noise: the first latent is noise * initNoiseSigma. */
  readonly initNoiseSigma: number;
  /** Chooses the timesteps for `numInferenceSteps` steps and clears any multistep state. */
  setTimesteps(numInferenceSteps: number): void;
  /** The UNet's input at step i (sigma schedulers divide by sqrt(sigma^2 + 1); others return `sample`). */
  scaleModelInput(sample: Float32Array, i: number): Latents;
  /** One denoising update: from the sample at step i and the model's output there, the sample at step i+1. */
  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents;
  /** Forward process: `original` noised to the level of step i (used by image-to-image). */
  addNoise(original: Float32Array, noise: Float32Array, i: number): Latents;
}

/** What schedulers return: a fresh float32 array of their own (never a view into the caller's memory). */
export type Latents = Float32Array<ArrayBuffer>;

/**
 * a x + b y into a new array. Hot path: a plain loop (TypedArray.from with a mapping function runs
 * through the iterator protocol and was 8x slower on a 64x64x4 latent).
 */
export function combine(a: number, x: Float32Array, b: number, y: Float32Array): Latents {
  const out = new Float32Array(x.length);
  if (b === 0) for (let k = 0; k < out.length; k++) out[k] = a * x[k];
  else for (let k = 0; k < out.length; k++) out[k] = a * x[k] + b * y[k];
  return out;
}

export function clipInPlace(x: Float32Array, range: number): Float32Array {
  for (let k = 0; k < x.length; k++) x[k] = Math.min(Math.max(x[k], -range), range);
  return x;
}
