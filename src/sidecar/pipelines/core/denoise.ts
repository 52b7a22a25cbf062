/**
 * The one denoising loop. Text-to-image, image-to-image, evaluation, Imagic's eta sweep and the
 * distillation teacher's data all sample through `denoise`; what differs between them (where the
 * latents and text rows come from, what a preview shows, which error a cancel raises, the teacher's
 * float64 DDIM grid and guidance rule) stays with the caller. After k-diffusion's samplers: a
 * plain function of the model, the latents and the schedule, with guidance and the model's inputs
 * wrapped around the scheduler's update rather than inside it.
 *
 * Per step i (from startStep; image-to-image starts part-way):
 *   1. cancel?       hooks.throwIfCancelled()
 *   2. model input   x_in = scheduler.scaleModelInput(x, i), doubled for a guidance batch
 *   3. UNet          out = unet(x_in, t_i, context [, s]) (core/unet-feeds.ts)
 *   4. guidance      out = out_u + s (out_c - out_u) for a guidance batch (guidance.ts)
 *   5. update        x = scheduler.step(out, i, x, noise), noise from each image's own generator
 *   6. report        hooks.onStep (progress, previews)
 */
import type * as ort from 'onnxruntime-node';
import type { NormalSource, Scheduler } from '../../schedulers/index';
import { applyGuidance, guidanceMode, type GuidanceMode } from '../guidance';
import { floatTensor, readFloats, tile } from '../tensors';
import { batchNoise } from './latents';
import { timedRun, type OrtTimer } from './timed-run';
import { contextRows, unetFeeds, type FeedSignature } from './unet-feeds';

/** What the loop needs of a scheduler (the distillation teacher's own DDIM grid is one too). */
export type Sampler = Pick<Scheduler, 'timesteps' | 'scaleModelInput' | 'step'>;

export interface DenoiseInput {
  /** The UNet to run (an opened model's, Imagic's fine-tuned one, the distillation teacher) and its signature. */
  unet: { session: ort.InferenceSession; sig: FeedSignature };
  /** A scheduler with setTimesteps already called. */
  scheduler: Sampler;
  /** The initial latents of n images, [n, C, h, w] flattened. */
  latents: Float32Array;
  /** One image's latent dims [C, h, w]. */
  shape: readonly number[];
  /** The first step to run (image-to-image); default 0. */
  startStep?: number;
  /**
   * Text rows: `cond` one row [L * D] per image; `uncond` the unconditional row, needed only for a
   * guidance batch (see guidanceMode); `dims` [L, D].
   */
  text: { cond: Float32Array; uncond: Float32Array | null; dims: readonly number[] };
  guidanceScale: number;
  /** How to guide; default guidanceMode(sig, guidanceScale), generation's rule. */
  mode?: GuidanceMode;
  /** One step-noise generator per image (core/latents.ts stepGenerators); stochastic schedulers need them. */
  rngs?: readonly NormalSource[];
  timer?: OrtTimer;
}

/** What a step hands to onStep. Arrays are the loop's own: read them, do not modify them. */
export interface DenoiseStep {
  /** Steps done (1-based) and steps this call runs. */
  done: number;
  total: number;
  /** The scheduler's step index and the timestep the UNet saw. */
  index: number;
  timestep: number;
  /** The UNet's input for the n images (before doubling) and its guided output. */
  modelInput: Float32Array;
  output: Float32Array;
  /** The latents after the step. */
  latents: Float32Array;
}

export interface DenoiseHooks {
  /** Called before every step; throws the caller's own cancellation error to stop. */
  throwIfCancelled?(): void;
  /** Called after every step (awaited, so a preview can be decoded). */
  onStep?(step: DenoiseStep): void | Promise<void>;
}

/** Runs the loop; returns the final latents [n, C, h, w]. */
export async function denoise(d: DenoiseInput, hooks: DenoiseHooks = {}): Promise<Float32Array> {
  const { scheduler, unet } = d;
  const n = d.latents.length / (d.shape[0] * d.shape[1] * d.shape[2]);
  const mode = d.mode ?? guidanceMode(unet.sig, d.guidanceScale);
  if (mode === 'batch' && !d.text.uncond) throw new Error(`guidance scale ${d.guidanceScale} runs a guidance batch: it needs the unconditional text row`);
  const rows = mode === 'batch' ? 2 * n : n;
  const context = floatTensor(unet.sig.floatType, contextRows(d.text.cond, mode === 'batch' ? d.text.uncond : null, n), [rows, ...d.text.dims]);
  const scales = mode === 'input' ? new Array<number>(rows).fill(d.guidanceScale) : undefined;
  const noise = d.rngs ? batchNoise(d.rngs) : undefined;
  const start = d.startStep ?? 0;
  const total = scheduler.timesteps.length - start;
  let latents = d.latents;
  for (let i = start; i < scheduler.timesteps.length; i++) {
    hooks.throwIfCancelled?.();
    const input = scheduler.scaleModelInput(latents, i);
    const timestep = scheduler.timesteps[i];
    const feeds = unetFeeds(unet.sig, {
      sample: mode === 'batch' ? tile(input, 2) : input,
      shape: d.shape,
      timesteps: new Array<number>(rows).fill(timestep),
      context,
      scales,
    });
    const out = readFloats((await timedRun(unet.session, feeds, d.timer)).out_sample);
    const guided = mode === 'batch' ? applyGuidance(out, d.guidanceScale) : out;
    latents = scheduler.step(guided, i, latents, noise);
    await hooks.onStep?.({ done: i - start + 1, total, index: i, timestep, modelInput: input, output: guided, latents });
  }
  return latents;
}
