/**
 * Text-to-image (and image-to-image) with classifier-free guidance, for any model folder in the
 * diffusers ONNX layout. Read top to bottom:
 *
 *   1. check inputs      resolve the model, open and check its sessions, fill in the settings
 *   2. encode prompt     [negative, prompt] through the text encoder in one run
 *   3. timesteps         the scheduler's steps (image-to-image starts part-way, by strength)
 *   4. latents           seeded noise per image (seed + k), or the encoded image noised to the start
 *   5. denoising loop    core/denoise.ts: UNet on [uncond x B, cond x B] (or once with guidance_scale
 *                        for a guided student), guidance, scheduler step; progress, preview (the
 *                        current x0 estimate) and cancellation each step
 *   6. decode            VAE decoder, PNG with the A1111 `parameters` chunk, exclusive-create file
 *
 * Runs on the calling thread (ONNX Runtime blocks it while a model runs); the sidecar calls it from its
 * worker thread.
 */
import { encodePng, readImageTensor } from '../io/images';
import { modelHash } from '../io/model-folder';
import { modelRoots, resolveModel, DEFAULT_MODEL } from '../io/model-discovery';
import { outputPath, writeExclusiveSync, type ImageWriter } from '../io/outputs';
import { formatParameters, type GenerationParameters } from '../io/png-metadata';
import { createScheduler, type Scheduler } from '../schedulers/index';
import { splitPredictionVp } from '../schedulers/prediction';
import { alphaBarFor, interpAt } from '../schedulers/noise-schedule';
import { denoise, type DenoiseHooks, type DenoiseStep } from './core/denoise';
import { nativeLatentSize, seededNoise, stepGenerators } from './core/latents';
import { embeddingRow, encodePrompts } from './core/prompt';
import type { OrtTimer } from './core/timed-run';
import { decodeLatents, encodePixels, previewPng, rgbImages } from './core/vae';
import { guidanceMode } from './guidance';
import { openModel, type OpenModel } from './model-sessions';
import { resolveSettings, type ResolvedSettings, type TextToImageRequest } from './request';
import { tile } from './tensors';

export type { TextToImageRequest } from './request';

export interface GenerationProgress {
  /** Index of the first image of the batch being denoised, and how many images in all. */
  image: number;
  count: number;
  /** Steps done in this batch (1-based) and steps per batch. */
  step: number;
  totalSteps: number;
  /** PNG of the batch's first image at this step, when previewEvery asked for one. */
  preview?: Uint8Array;
}

export interface GenerateOptions {
  onProgress?(p: GenerationProgress): void;
  /** Checked before every step; when it returns true the job stops with GenerationCancelledError. */
  isCancelled?(): boolean;
  /** e.g. ['cuda', 'cpu']; default ['cpu']. */
  executionProviders?: readonly string[];
  intraOpNumThreads?: number;
  /**
   * Writes each finished PNG meant for `path` and returns the file written. Default: writeExclusiveSync
   * (that name, or a numbered variant when taken); the sidecar's job stages them (jobs/staging.ts).
   */
  writeImage?: ImageWriter;
  /**
   * The share of the denoising time previews may take (e.g. 0.05): a preview due by previewEvery is
   * skipped while the previews so far plus one more would exceed it (the first is always made). Unset:
   * every previewEvery steps, whatever it costs (a preview decodes through the VAE, which for the
   * embedded model costs a third of a guided step).
   */
  previewBudget?: number;
}

export interface TextToImageResult {
  /** Absolute paths of the PNGs written, in image order. */
  files: string[];
  /** The parameters embedded in each PNG. */
  metadata: GenerationParameters[];
  /** Where the wall time went, in ms (see PipelineTimings). */
  timings: PipelineTimings;
}

/**
 * The pipeline's wall time and its parts, in ms: what the sidecar's per-job breakdown (docs/SIDECAR.md,
 * "Timings") is built from. totalMs - ortMs - loadMs - pngMs - writeMs is the pipeline's own arithmetic
 * (model look-up, tokenising, latents, scheduler steps, guidance).
 */
export interface PipelineTimings {
  totalMs: number;
  /** Inside ONNX Runtime runs. */
  ortMs: number;
  /** Opening the model's sessions: their creation on first use, cache look-ups after. */
  loadMs: number;
  /** Encoding the result PNGs (a preview's encoding counts as the pipeline's own work). */
  pngMs: number;
  /** Writing the PNGs (exclusive create). */
  writeMs: number;
}

export class GenerationCancelledError extends Error {
  constructor() {
    super('generation cancelled');
    this.name = 'GenerationCancelledError';
  }
}

export async function textToImage(request: TextToImageRequest, options: GenerateOptions = {}): Promise<TextToImageResult> {
  const t0 = performance.now();
  const timer: OrtTimer = { ortMs: 0 };
  const t: Omit<PipelineTimings, 'totalMs' | 'ortMs'> = { loadMs: 0, pngMs: 0, writeMs: 0 };
  // 1. Check inputs.
  const folder = resolveModel(request.model ?? DEFAULT_MODEL, modelRoots(request.modelRoots ?? []));
  const tLoad = performance.now();
  const model = await openModel(folder, options, request.initImage !== undefined);
  t.loadMs = performance.now() - tLoad;
  const vaeScale = folder.vaeScaleFactor ?? 8;
  const native = nativeLatentSize(model, 64);
  const s = resolveSettings(request, folder, [native[0] * vaeScale, native[1] * vaeScale], vaeScale);
  const mode = guidanceMode(model.unetSig, s.guidanceScale);
  if (mode === 'input' && s.negativePrompt) {
    throw new RangeError(`${folder.name} is a guided student (guidance is a UNet input): it cannot use a negative prompt`);
  }
  const latentShape = [model.unetSig.latentChannels, s.height / vaeScale, s.width / vaeScale];
  const hash = await modelHash(folder);
  // 2. Encode the prompt: [negative, prompt] in one run.
  const text = await encodePrompts(model, mode === 'batch' ? [s.negativePrompt, s.prompt] : [s.prompt], timer);
  const files: string[] = [];
  const metadata: GenerationParameters[] = [];
  for (let first = 0; first < s.count; first += s.batchSize) {
    const n = Math.min(s.batchSize, s.count - first);
    const seeds = Array.from({ length: n }, (_, k) => s.seed + first + k);
    // 3. Timesteps. 4. Latents.
    const scheduler = createScheduler(s.scheduler, folder.schedulerConfig);
    const { latents, startStep } = await prepareLatents(model, scheduler, s, seeds, latentShape, timer);
    // 5. Denoising loop.
    const final = await denoise({
      unet: { session: model.unet, sig: model.unetSig }, scheduler, latents, shape: latentShape, startStep,
      text: { cond: tile(embeddingRow(text, text.dims[0] - 1), n), uncond: mode === 'batch' ? embeddingRow(text, 0) : null, dims: text.dims.slice(1) },
      guidanceScale: s.guidanceScale, rngs: stepGenerators(seeds), timer,
    }, loopHooks(model, s, first, latentShape, timer, options));
    // 6. Decode and write.
    const pixels = await decodeLatents(model, final, latentShape, timer);
    const rgb = rgbImages(pixels);
    for (let k = 0; k < n; k++) {
      const params = parametersFor(s, scheduler.displayName, seeds[k], folder.name, hash);
      const tPng = performance.now();
      const png = encodePng(rgb[k], pixels.width, pixels.height, { parameters: formatParameters(params) });
      const tWrite = performance.now();
      files.push((options.writeImage ?? writeExclusiveSync)(outputPath(s.out, s.prompt, seeds[k], first + k, s.count), png));
      t.writeMs += performance.now() - tWrite;
      t.pngMs += tWrite - tPng;
      metadata.push(params);
    }
  }
  return { files, metadata, timings: { totalMs: performance.now() - t0, ortMs: timer.ortMs, ...t } };
}

/** Cancellation before each step; progress, with a preview every previewEvery steps, after each. */
function loopHooks(model: OpenModel, s: ResolvedSettings, first: number, shape: number[], timer: OrtTimer, options: GenerateOptions): DenoiseHooks {
  const start = performance.now();
  let spent = 0;
  let last = 0;
  const due = (done: number) => {
    if (s.previewEvery <= 0 || done % s.previewEvery !== 0) return false;
    return options.previewBudget === undefined || spent + last <= options.previewBudget * (performance.now() - start);
  };
  return {
    throwIfCancelled: () => {
      if (options.isCancelled?.()) throw new GenerationCancelledError();
    },
    onStep: async (step) => {
      let preview: Uint8Array | undefined;
      if (due(step.done)) {
        const t = performance.now();
        preview = await estimatePreview(model, step, shape, timer);
        last = performance.now() - t;
        spent += last;
      }
      options.onProgress?.({ image: first, count: s.count, step: step.done, totalSteps: step.total, ...(preview ? { preview } : {}) });
    },
  };
}

/** Timesteps set, and the first latents: seeded noise, or (image-to-image) the encoded picture noised part-way. */
async function prepareLatents(
  model: OpenModel,
  scheduler: Scheduler,
  s: ResolvedSettings,
  seeds: number[],
  shape: number[],
  timer: OrtTimer,
): Promise<{ latents: Float32Array; startStep: number }> {
  scheduler.setTimesteps(s.steps);
  const noise = seededNoise(seeds, shape[0] * shape[1] * shape[2]);
  if (!s.initImage) return { latents: noise.map((x) => x * scheduler.initNoiseSigma), startStep: 0 };
  // Image-to-image (SDEdit, Meng et al. 2022): start at step steps - floor(steps * strength).
  const skipped = s.steps - Math.max(1, Math.floor(s.steps * s.strength));
  const startStep = scheduler.startIndex?.(skipped) ?? skipped * (scheduler.order ?? 1);
  const pixels = await readImageTensor(s.initImage, s.width, s.height);
  const latent = await encodePixels(model, pixels, s.height, s.width, timer);
  return { latents: scheduler.addNoise(tile(latent.data, seeds.length), noise, startStep), startStep };
}

/**
 * A preview of the batch's first image: the model's current estimate of the clean latent x0 (what the
 * image is becoming) from the UNet's input x_t (variance-preserving scale) and its guided output at
 * timestep t, so the preview is not buried in noise.
 */
function estimatePreview(model: OpenModel, step: DenoiseStep, shape: number[], timer: OrtTimer): Promise<Uint8Array> {
  const per = shape[0] * shape[1] * shape[2];
  const config = model.folder.schedulerConfig;
  const aBar = interpAt(alphaBarFor(config), step.timestep);
  const x0 = splitPredictionVp(config.prediction_type, step.output.subarray(0, per), step.modelInput.subarray(0, per), aBar).x0;
  return previewPng(model, x0, shape, timer);
}

function parametersFor(s: ResolvedSettings, sampler: string, seed: number, model: string, hash: string): GenerationParameters {
  return {
    prompt: s.prompt,
    negativePrompt: s.negativePrompt,
    steps: s.steps,
    sampler,
    cfgScale: s.guidanceScale,
    seed,
    width: s.width,
    height: s.height,
    model,
    modelHash: hash,
    ...(s.initImage ? { extra: { 'Denoising strength': s.strength } } : {}),
  };
}
