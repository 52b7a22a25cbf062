/**
 * Imagic stage 3 (Kawar et al. 2023, section 3, "text embedding interpolation"): for each eta,
 *   e = eta * e_target + (1 - eta) * e_opt
 * and sample with the fine-tuned UNet and classifier-free guidance. All etas run as one batch from
 * the same initial noise (the same seed), so a sweep differs only in eta: eta = 0 reconstructs the
 * input, larger etas move towards the target text.
 */
import * as ort from 'onnxruntime-node';
import { createFedSession, createSession, loadModel } from '../../graph';
import { FROZEN_INPUT_MIN_BYTES, injectLora } from '../../train';
import { FROZEN_INPUTS_AUTO_BYTES } from '../../train/frozen';
import { sessionOptions } from '../../runtime/session-options';
import type { TensorValue } from '../../graph/types';
import { createScheduler, type SchedulerName } from '../../schedulers/index';
import { denoise } from '../core/denoise';
import { nativeLatentSize, seededNoise, stepGenerators } from '../core/latents';
import { decodeLatents, previewPng } from '../core/vae';
import type { OpenModel } from '../model-sessions';
import type { TuneMode } from './loss-graph';
import { ImagicCancelledError } from './train-stage';

/**
 * The UNet with the stage-2 weights as a session: every weight replaced ('full'), or the original
 * with the trained LoRA adapters injected the same way as in training ('lora').
 */
export async function tunedUnet(unetPath: string, mode: Exclude<TuneMode, 'embedding'>, weights: Map<string, TensorValue>, loraRank: number, providers: readonly string[]): Promise<ort.InferenceSession> {
  const g = loadModel(unetPath);
  if (mode === 'lora') injectLora(g, { rank: loraRank, targets: () => true });
  for (const [name, v] of weights) {
    const old = g.initializers.get(name);
    if (!old || old.data.length !== v.data.length) throw new Error(`fine-tuned weight ${name} does not fit ${unetPath}`);
    g.initializers.set(name, v);
  }
  // A large UNet (SD 1.5: 3.4 GB) runs on the loaded weights fed as inputs: one protobuf message
  // cannot exceed 2 GB, and handing the weights to ORT would hold them twice.
  const bytes = [...g.initializers.values()].reduce((n, v) => n + v.data.byteLength, 0);
  const options = sessionOptions({ executionProviders: providers });
  if (bytes >= FROZEN_INPUTS_AUTO_BYTES) return createFedSession(g, FROZEN_INPUT_MIN_BYTES, options);
  return createSession(g, options);
}

export interface SampleSettings {
  etas: number[];
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerName;
  seed: number;
  /** Decode a preview PNG of the last eta's current sample every N steps (0 = never). */
  previewEvery?: number;
}

/** Denoises one latent per eta; returns [n, 3, H, W] pixels in [-1, 1] from the VAE decoder. */
export async function sampleEtas(
  model: OpenModel,
  unet: ort.InferenceSession,
  e: { target: Float32Array; optimised: Float32Array; uncond: Float32Array; dims: number[] },
  s: SampleSettings,
  hooks: { onStep?(step: number, total: number, preview?: Uint8Array): void; isCancelled?(): boolean } = {},
): Promise<{ pixels: Float32Array; height: number; width: number; sampler: string }> {
  const n = s.etas.length;
  const sig = model.unetSig;
  const shape = [sig.latentChannels, ...nativeLatentSize(model, 8)];
  const per = shape[0] * shape[1] * shape[2];
  const scheduler = createScheduler(s.scheduler, model.folder.schedulerConfig);
  scheduler.setTimesteps(s.steps);
  // The same seed, so the same initial and step noise, for every eta: only eta differs across the sweep.
  const seeds = s.etas.map(() => s.seed);
  const latents = seededNoise(seeds, per).map((x) => x * scheduler.initNoiseSigma);
  const every = s.previewEvery ?? 0;
  const final = await denoise({
    unet: { session: unet, sig }, scheduler, latents, shape,
    text: { cond: interpolate(e, s.etas), uncond: e.uncond, dims: e.dims.slice(1) },
    guidanceScale: s.guidanceScale, rngs: stepGenerators(seeds),
  }, {
    throwIfCancelled: () => {
      if (hooks.isCancelled?.()) throw new ImagicCancelledError();
    },
    onStep: async ({ done, total, latents: x }) => {
      // The last eta's current sample, brought to the scale the VAE expects (what the extension shows while it runs).
      const preview = every > 0 && done % every === 0 && done < total
        ? await previewPng(model, scheduler.scaleModelInput(x, done).subarray((n - 1) * per), shape)
        : undefined;
      hooks.onStep?.(done, total, preview);
    },
  });
  const pixels = await decodeLatents(model, final, shape);
  return { pixels: pixels.data, height: pixels.height, width: pixels.width, sampler: scheduler.displayName };
}

/** e = eta e_target + (1 - eta) e_opt for each eta (Kawar et al. 2023, section 3): one context row per eta. */
function interpolate(e: { target: Float32Array; optimised: Float32Array }, etas: readonly number[]): Float32Array {
  const rowLen = e.target.length;
  const rows = new Float32Array(etas.length * rowLen);
  etas.forEach((eta, k) => {
    for (let i = 0; i < rowLen; i++) rows[k * rowLen + i] = eta * e.target[i] + (1 - eta) * e.optimised[i];
  });
  return rows;
}
