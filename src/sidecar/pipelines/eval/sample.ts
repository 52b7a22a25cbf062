/**
 * Batched sampling for evaluation: many prompts in one UNet batch (the text-to-image pipeline takes
 * one prompt per request; evaluation needs a thousand images over a thousand prompts). The same
 * denoising core as the pipeline (core/denoise.ts), and per-image seeds, so runs are reproducible
 * and batch size does not change the images.
 */
import { createScheduler, type SchedulerName } from '../../schedulers/index';
import { denoise, type Sampler } from '../core/denoise';
import { nativeLatentSize, seededNoise, stepGenerators } from '../core/latents';
import { encodePrompts } from '../core/prompt';
import { decodeLatents } from '../core/vae';
import { guidanceMode } from '../guidance';
import type { OpenModel } from '../model-sessions';
import { concatFloats } from '../tensors';

export interface SampleOptions {
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  /** Image k of the call uses seed + k. */
  seed: number;
  /**
   * A ready sampler to use instead of the named scheduler (VP, initial noise sigma 1): e.g. the
   * distillation's exact-grid DDIM (distill/targets.ts gridSampler), which scripts/fid-anatomy.ts
   * measures beside diffusers' DDIM.
   */
  sampler?: Sampler;
}

function samplerFor(model: OpenModel, o: SampleOptions): { scheduler: Sampler; initNoiseSigma: number } {
  if (o.sampler) return { scheduler: o.sampler, initNoiseSigma: 1 };
  const named = createScheduler(o.scheduler, model.folder.schedulerConfig);
  named.setTimesteps(o.steps);
  return { scheduler: named, initNoiseSigma: named.initNoiseSigma };
}

/** Generate one image per prompt; returns images [n, 3, S, S] in [-1, 1] (clamped) and their side. */
export async function sampleImages(model: OpenModel, prompts: string[], o: SampleOptions): Promise<{ images: Float32Array; size: number }> {
  const n = prompts.length;
  const sig = model.unetSig;
  const shape = [sig.latentChannels, ...nativeLatentSize(model, 8)];
  const cond = await encodePrompts(model, prompts);
  // The unconditional row is the empty prompt, encoded on its own.
  const uncond = guidanceMode(sig, o.guidance) === 'batch' ? (await encodePrompts(model, [''])).data : null;
  const { scheduler, initNoiseSigma } = samplerFor(model, o);
  const seeds = Array.from({ length: n }, (_, k) => o.seed + k);
  const latents = seededNoise(seeds, shape[0] * shape[1] * shape[2]).map((x) => x * initNoiseSigma);
  const final = await denoise({
    unet: { session: model.unet, sig }, scheduler, latents, shape,
    text: { cond: cond.data, uncond, dims: cond.dims.slice(1) },
    guidanceScale: o.guidance, rngs: stepGenerators(seeds),
  });
  const pixels = await decodeLatents(model, final, shape);
  return { images: pixels.data.map((x) => Math.max(-1, Math.min(1, x))), size: pixels.height };
}

/**
 * `prompts` in UNet batches of `batch`, gathered into one array: the batch starting at prompt i is
 * seeded o.seed + i, so image k gets seed + k whatever the batch size.
 */
export async function sampleInBatches(
  model: OpenModel, prompts: string[], o: SampleOptions, batch: number, onProgress?: (done: number, total: number) => void,
): Promise<{ images: Float32Array; size: number }> {
  const parts: Float32Array[] = [];
  let size = 0;
  for (let i = 0; i < prompts.length; i += batch) {
    const chunk = prompts.slice(i, i + batch);
    const r = await sampleImages(model, chunk, { ...o, seed: o.seed + i });
    parts.push(r.images);
    size = r.size;
    onProgress?.(i + chunk.length, prompts.length);
  }
  return { images: concatFloats(parts), size };
}
