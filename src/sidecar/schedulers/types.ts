/**
 * The one scheduler interface. A scheduler is a small object: configured once from
 * scheduler_config.json, told how many steps to take, then asked for one update per step. Steps are
 * addressed by their index i (0 = noisiest), never by timestep value, so the caller needs no knowledge
 * of a scheduler's internals (diffusers' own comments regret inspecting `step`'s signature).
 *
 * Latents are float32 arrays holding a whole batch; every operation is element-wise, so a batch of B
 * images is just a longer array.
 */
import type { SchedulerConfig } from './config';

export const SCHEDULER_NAMES = ['ddpm', 'ddim', 'euler', 'euler-a', 'dpm++2m', 'dpm++2m-karras'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** A source of standard normal noise (the seeded RNG in rng.ts). */
export interface NormalSource {
  /** Fills `out` with independent N(0, 1) samples and returns it. */
  fillNormal(out: Float32Array): Float32Array;
}

export interface Scheduler {
  /** The command-line name, e.g. 'euler-a'. */
  readonly name: SchedulerName;
  /** The name written into the A1111 `Sampler:` field, e.g. 'Euler a'. */
  readonly displayName: string;
  readonly config: SchedulerConfig;
  /** Training timesteps fed to the UNet, one per step, noisiest first (fractional for some spacings). */
  readonly timesteps: readonly number[];
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
 * x0 (the model's estimate of the clean sample) and eps from the model output, in the variance-preserving
 * view x_t = sqrt(aBar) x0 + sqrt(1 - aBar) eps (Ho et al. 2020, eq. 4). For v-prediction,
 * v = sqrt(aBar) eps - sqrt(1 - aBar) x0 (Salimans & Ho 2022, section 4), so
 * x0 = sqrt(aBar) x_t - sqrt(1 - aBar) v and eps = sqrt(aBar) v + sqrt(1 - aBar) x_t.
 */
export function splitPredictionVp(
  kind: SchedulerConfig['prediction_type'],
  output: Float32Array,
  sample: Float32Array,
  alphaBar: number,
): { x0: Float32Array; eps: Float32Array } {
  const a = Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar);
  const x0 = new Float32Array(sample.length);
  const eps = new Float32Array(sample.length);
  for (let k = 0; k < sample.length; k++) {
    const x = sample[k];
    const m = output[k];
    if (kind === 'epsilon') {
      x0[k] = (x - b * m) / a;
      eps[k] = m;
    } else if (kind === 'v_prediction') {
      x0[k] = a * x - b * m;
      eps[k] = a * m + b * x;
    } else {
      x0[k] = m;
      eps[k] = (x - a * m) / b;
    }
  }
  return { x0, eps };
}

/**
 * x0 in the variance-exploding view used by Euler and DPM-Solver++ (Karras et al. 2022): the sample is
 * x = x0 + sigma * eps and the UNet saw x / sqrt(sigma^2 + 1). For v-prediction the same identity as
 * above, rewritten with aBar = 1 / (sigma^2 + 1): x0 = x / (sigma^2 + 1) - sigma / sqrt(sigma^2 + 1) * v.
 */
export function predictX0Ve(
  kind: SchedulerConfig['prediction_type'],
  output: Float32Array,
  sample: Float32Array,
  sigma: number,
): Latents {
  const x0 = new Float32Array(sample.length);
  const c = sigma * sigma + 1;
  for (let k = 0; k < sample.length; k++) {
    if (kind === 'epsilon') x0[k] = sample[k] - sigma * output[k];
    else if (kind === 'v_prediction') x0[k] = sample[k] / c - (sigma / Math.sqrt(c)) * output[k];
    else x0[k] = output[k];
  }
  return x0;
}

export function clipInPlace(x: Float32Array, range: number): Float32Array {
  for (let k = 0; k < x.length; k++) x[k] = Math.min(Math.max(x[k], -range), range);
  return x;
}
