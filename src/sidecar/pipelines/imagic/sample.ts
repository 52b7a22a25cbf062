/**
 * Imagic stage 3 (Kawar et al. 2023, section 3, "text embedding interpolation"): for each eta,
 *   e = eta * e_target + (1 - eta) * e_opt
 * and sample with the fine-tuned UNet and classifier-free guidance. All etas run as one batch from
 * the same initial noise (the same seed), so a sweep differs only in eta: eta = 0 reconstructs the
 * input, larger etas move towards the target text.
 */
import * as ort from 'onnxruntime-node';
import { createSession, loadModel, toOnnx } from '../../graph';
import { injectLora } from '../../train';
import { sessionOptions } from '../../runtime/session-options';
import type { TensorValue } from '../../graph/types';
import { createScheduler, SeededRandom, type NormalSource, type SchedulerName } from '../../schedulers/index';
import { encodePng, tensorToRgb } from '../../io/images';
import { applyGuidance, usesGuidanceBatch } from '../guidance';
import type { OpenModel } from '../model-sessions';
import { floatTensor, readFloats } from '../tensors';
import type { TuneMode } from './loss-graph';
import { ImagicCancelledError, timestepTensor } from './train-stage';

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
  return createSession(toOnnx(g), sessionOptions({ executionProviders: providers }));
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
  const useBatch = usesGuidanceBatch(s.guidanceScale);
  const rows = useBatch ? 2 * n : n;
  const rowLen = e.target.length;
  const context = new Float32Array(rows * rowLen);
  s.etas.forEach((eta, k) => {
    const row = (useBatch ? n : 0) + k;
    for (let i = 0; i < rowLen; i++) context[row * rowLen + i] = eta * e.target[i] + (1 - eta) * e.optimised[i];
    if (useBatch) context.set(e.uncond, k * rowLen);
  });
  const ctx = floatTensor(sig.floatType, context, [rows, e.dims[1], e.dims[2]]);
  const [h, w] = sig.latentSize ?? [model.folder.sampleSize ?? 8, model.folder.sampleSize ?? 8];
  const per = sig.latentChannels * h * w;
  const scheduler = createScheduler(s.scheduler, model.folder.schedulerConfig);
  scheduler.setTimesteps(s.steps);
  // The same initial noise for every eta: only eta differs across the sweep.
  const first = new SeededRandom((s.seed ^ 0x5eed) >>> 0).fillNormal(new Float32Array(per));
  let latents: Float32Array = new Float32Array(n * per);
  for (let k = 0; k < n; k++) latents.set(first.map((x) => x * scheduler.initNoiseSigma), k * per);
  const rngs = s.etas.map(() => new SeededRandom(s.seed));
  const noise: NormalSource = { fillNormal: (out) => { rngs.forEach((r, k) => r.fillNormal(out.subarray(k * per, (k + 1) * per))); return out; } };
  const total = scheduler.timesteps.length;
  for (let i = 0; i < total; i++) {
    if (hooks.isCancelled?.()) throw new ImagicCancelledError();
    const input = scheduler.scaleModelInput(latents, i);
    const sample = useBatch ? Float32Array.from({ length: 2 * input.length }, (_, j) => input[j % input.length]) : input;
    const out = await unet.run({
      sample: floatTensor(sig.floatType, sample, [rows, sig.latentChannels, h, w]),
      timestep: timestepTensor(sig.timestepType, sig.timestepShape, new Array<number>(rows).fill(scheduler.timesteps[i])),
      encoder_hidden_states: ctx,
    });
    const pred = readFloats(out.out_sample);
    latents = scheduler.step(useBatch ? applyGuidance(pred, s.guidanceScale) : pred, i, latents, noise);
    const every = s.previewEvery ?? 0;
    const preview = every > 0 && (i + 1) % every === 0 && i + 1 < total
      ? await previewPng(model, scheduler.scaleModelInput(latents, i + 1).subarray((n - 1) * per), [sig.latentChannels, h, w])
      : undefined;
    hooks.onStep?.(i + 1, total, preview);
  }
  const dec = await decode(model, latents, [n, sig.latentChannels, h, w]);
  return { pixels: readFloats(dec), height: dec.dims[2], width: dec.dims[3], sampler: scheduler.displayName };
}

async function decode(model: OpenModel, latents: Float32Array, dims: number[]): Promise<ort.Tensor> {
  const scaled = latents.map((x) => x / model.folder.scalingFactor);
  return (await model.vaeDecoder.run({ latent_sample: floatTensor(model.vaeDecoderFloat, scaled, dims) })).sample;
}

/** One sample mid-way, brought to the scale the VAE expects, as a PNG (what the extension shows while it runs). */
async function previewPng(model: OpenModel, latent: Float32Array, dims: number[]): Promise<Uint8Array> {
  const dec = await decode(model, latent, [1, ...dims]);
  return encodePng(tensorToRgb(readFloats(dec), 0, dec.dims[2], dec.dims[3]), dec.dims[3], dec.dims[2]);
}
