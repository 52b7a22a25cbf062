/**
 * Imagic (Kawar et al. 2023): edit a real picture towards a target text, for any model folder in the
 * diffusers ONNX layout with a float32 UNet. Read top to bottom:
 *
 *   1. check inputs   model, sessions (with the VAE encoder), settings scaled to the model's size
 *   2. prepare        the picture -> the model's size (sharp) -> VAE latent x0; e_target =
 *                     last_hidden_state of the prompt, e_uncond of "" for guidance
 *   3.-5. stage 1     model frozen, optimise e from e_target to reconstruct x0 -> e_opt   (cached)
 *         stage 2     e_opt frozen, fine-tune the UNet (all weights or LoRA) on x0         (cached)
 *   6. stage 3        e = eta e_target + (1 - eta) e_opt, guided sampling with the tuned UNet
 *   7. write          one PNG per eta with its parameters, and a contact sheet
 *
 * Runs on the calling thread (ONNX Runtime blocks it); the sidecar runs it in its worker.
 */
import { basename, join } from 'node:path';
import type { TrainStep } from '../../train';
import { FROZEN_INPUTS_AUTO_BYTES } from '../../train/frozen';
import type { TensorValue } from '../../graph/types';
import { modelHash } from '../../io/model-folder';
import { DEFAULT_MODEL, modelRoots, resolveModel } from '../../io/model-discovery';
import { formatParameters, type GenerationParameters } from '../../io/png-metadata';
import { prepareImage, rgbToTensor, type PreparedImage } from '../../io/prepare-image';
import { alphaBarFor } from '../../schedulers/noise-schedule';
import { openModel, type OpenModel } from '../model-sessions';
import { modelDefaults, resolveSettings, type ResolvedSettings } from '../request';
import { nativeLatentSize } from '../core/latents';
import { embeddingRow, encodePrompts } from '../core/prompt';
import { encodePixels } from '../core/vae';
import { StageCache, cacheKey, defaultCacheDir, fileFingerprint } from './cache';
import { EMBEDDING, buildStageGraph, countParameters } from './loss-graph';
import { sampleEtas, tunedUnet } from './sample';
import { DEFAULT_ETA, checkEtas, defaultEditGuidance, editDefaults, trainSettings, type ImagicRequest, type TrainSettings } from './settings';
import { trainStage } from './train-stage';
import { contactSheet, writeContactSheet, writeEtaImages } from './write';

export type { ImagicRequest } from './settings';
export { ImagicCancelledError } from './train-stage';
export { SWEEP_ETAS, DEFAULT_ETA } from './settings';

export type ImagicStage = 'prepare' | 'embedding' | 'finetune' | 'sample' | 'save';

export interface ImagicProgress {
  stage: ImagicStage;
  step: number;
  total: number;
  /** The stage's training loss at this step (stages 1 and 2). */
  loss?: number;
  /** True when the stage's result came from the cache (one event, step = total). */
  cached?: boolean;
  /** While sampling, with previewEvery: a PNG of the last eta's current sample. */
  preview?: Uint8Array;
}

export interface ImagicOptions {
  onProgress?(p: ImagicProgress): void;
  /** Checked before every training and sampling step; true stops the job with ImagicCancelledError. */
  isCancelled?(): boolean;
  executionProviders?: readonly string[];
  /** Something went wrong that does not stop the edit (e.g. the cache could not be written). */
  onWarning?(message: string): void;
}

export interface ImagicResult {
  /** One PNG per eta, in the order of `etas`. */
  files: string[];
  contactSheet: string | null;
  etas: number[];
  metadata: GenerationParameters[];
  /** The prepared input (model size, 8-bit RGB) and each output, for reports. */
  input: PreparedImage;
  outputs: Uint8Array[];
  train: TrainSettings & { embeddingCached: boolean; finetuneCached: boolean; embeddingLoss: number[]; finetuneLoss: number[] };
  timings: { prepareMs: number; embeddingMs: number; finetuneMs: number; sampleMs: number; totalMs: number };
}

export async function runImagic(request: ImagicRequest, options: ImagicOptions = {}): Promise<ImagicResult> {
  const t0 = performance.now();
  const progress = options.onProgress ?? (() => {});
  const providers = options.executionProviders ?? ['cpu'];
  // 1. Check inputs.
  const { etas, model, s, train, hash, unetParameters } = await checkRequest(request, providers);
  const folder = model.folder;
  // 2. Prepare the picture and encode it; encode the text.
  progress({ stage: 'prepare', step: 0, total: 1 });
  const input = await prepareImage(request.image, s.width, s.height);
  const latent = await encodeImage(model, input);
  const text = await encodeText(model, [s.prompt, s.negativePrompt]);
  progress({ stage: 'prepare', step: 1, total: 1 });
  const t1 = performance.now();
  // 3.-5. The two trained stages, each from the cache when it holds them.
  const cache = new StageCache(request.cacheDir ?? defaultCacheDir());
  const useCache = request.cache !== false;
  const encoders = [fileFingerprint(folder.files.textEncoder), fileFingerprint(folder.files.vaeEncoder)];
  const key1 = cacheKey({ v: 1, image: input.sourceHash, prompt: s.prompt, model: hash, encoders, size: [s.width, s.height], e: [train.embeddingSteps, train.embeddingLearningRate, train.trainBatch, train.trainSeed] });
  const key2 = cacheKey({ v: 1, f: [train.finetuneSteps, train.finetuneLearningRate, train.tune, train.loraRank, train.trainBatch, train.trainSeed] });
  // The stages load the UNet themselves and stage 3 samples with the tuned one: a large model's plain
  // UNet session (3.4 GB at SD 1.5 size) is given back for the edit (the next generation reopens it).
  if (unetParameters * 4 >= FROZEN_INPUTS_AUTO_BYTES) await model.unet.release();
  const common = { model, latent, train, options };
  const keep = { useCache, cache, progress, warn: (m: string) => options.onWarning?.(m) };
  const stage1 = await cached(keep, cache.embeddingPath(key1), 'embedding', () => optimiseEmbedding(common, text.target));
  const eOpt = stage1.tensors.get('e_opt')!;
  const t2 = performance.now();
  const stage2 = await cached(keep, cache.unetPath(key1, key2), 'finetune', () => fineTune(common, eOpt));
  const t3 = performance.now();
  // 6. Interpolate and sample with the tuned UNet.
  const unet = await tunedUnet(folder.files.unet, train.tune, stage2.tensors, train.loraRank, providers);
  let pixels: Awaited<ReturnType<typeof sampleEtas>>;
  try {
    pixels = await sampleEtas(model, unet, { target: text.target.data as Float32Array, optimised: eOpt.data as Float32Array, uncond: text.uncond.data as Float32Array, dims: text.target.dims },
      { etas, steps: s.steps, guidanceScale: s.guidanceScale, scheduler: s.scheduler, seed: s.seed, previewEvery: request.previewEvery },
      { onStep: (step, total, preview) => progress({ stage: 'sample', step, total, ...(preview ? { preview } : {}) }), isCancelled: options.isCancelled });
  } finally {
    await unet.release();
  }
  const t4 = performance.now();
  // 7. Write the PNGs (and the contact sheet).
  const paramsFor = (eta: number) => parameters(s, pixels.sampler, folder.name, hash, request.image, input, train, eta);
  const written = await writeEtaImages(pixels, etas, paramsFor, s.out);
  const sheet = (request.contactSheet ?? etas.length > 1) ? await writeSheet(input, written.rgb, etas, s, paramsFor(etas[0])) : null;
  progress({ stage: 'save', step: 1, total: 1 });
  return {
    files: written.files, contactSheet: sheet, etas, metadata: written.metadata, input, outputs: written.rgb,
    train: { ...train, embeddingCached: stage1.cached, finetuneCached: stage2.cached, embeddingLoss: stage1.losses, finetuneLoss: stage2.losses },
    timings: { prepareMs: t1 - t0, embeddingMs: t2 - t1, finetuneMs: t3 - t2, sampleMs: t4 - t3, totalMs: performance.now() - t0 },
  };
}

/** Everything decided before any pixel is read: etas, model and its checks, sampling and training settings. */
async function checkRequest(request: ImagicRequest, providers: readonly string[]) {
  if (typeof request.prompt !== 'string' || !request.prompt.trim()) throw new RangeError('the edit needs a target prompt (what the picture should show)');
  const etas = checkEtas(request.etas ?? [DEFAULT_ETA]);
  const folder = resolveModel(request.model ?? DEFAULT_MODEL, modelRoots(request.modelRoots ?? []));
  const model = await openModel(folder, { executionProviders: providers }, true);
  if (model.unetSig.guidanceInput) {
    throw new RangeError(`${folder.name} is a guided student (guidance is a UNet input); edit with its base model instead`);
  }
  if (model.unetSig.floatType !== 'float32') {
    throw new RangeError(`${folder.name}: Imagic trains float32 UNets only; this one is ${model.unetSig.floatType} (export it in float32 to edit with it)`);
  }
  const unetParameters = countParameters(folder.files.unet);
  const vaeScale = folder.vaeScaleFactor ?? 8;
  const native = nativeLatentSize(model, 64);
  const edit = editDefaults(modelDefaults(folder).edit, join(folder.dir, 'model_index.json'));
  const guidanceScale = request.guidanceScale ?? edit.guidance_scale ?? defaultEditGuidance(unetParameters);
  const s = resolveSettings({ prompt: request.prompt, steps: request.steps, guidanceScale, scheduler: request.scheduler, seed: request.seed, out: request.out }, folder, [native[0] * vaeScale, native[1] * vaeScale], vaeScale);
  return { etas, model, s, train: trainSettings(request, unetParameters, edit), hash: await modelHash(folder), unetParameters };
}

/** The contact sheet, with the first eta's parameters and every eta listed. */
async function writeSheet(input: PreparedImage, outputs: Uint8Array[], etas: number[], s: ResolvedSettings, p: GenerationParameters): Promise<string> {
  const png = await contactSheet(input.rgb, outputs, etas.map((e) => `eta ${e.toFixed(1)}`), input);
  return writeContactSheet(png, s.out, s.seed, s.prompt, formatParameters({ ...p, extra: { ...p.extra, 'Imagic eta': etas.join(' ') } }));
}

interface Common {
  model: OpenModel;
  latent: TensorValue;
  train: TrainSettings;
  options: ImagicOptions;
}

/** Stage 1 (Kawar et al. 2023, section 3, "text embedding optimization"): e_opt = argmin_e L(x0, e; theta) from e_target, model frozen. */
async function optimiseEmbedding(c: Common, target: TensorValue): Promise<Trained> {
  if (c.train.embeddingSteps === 0) return { tensors: new Map([['e_opt', target]]), losses: [] };
  const built = buildStageGraph(c.model.folder.files.unet, { mode: 'embedding', lr: c.train.embeddingLearningRate, batch: c.train.trainBatch, embedding: target });
  const r = await runStage(c, 'embedding', built.step, null, c.train.embeddingSteps);
  return { tensors: new Map([['e_opt', r.params.get(EMBEDDING)!]]), losses: r.losses };
}

/** Stage 2: theta_tuned = argmin_theta L(x0, e_opt; theta), e_opt frozen (every weight, or LoRA adapters). */
async function fineTune(c: Common, eOpt: TensorValue): Promise<Trained> {
  if (c.train.finetuneSteps === 0) return { tensors: new Map(), losses: [] };
  const built = buildStageGraph(c.model.folder.files.unet, { mode: c.train.tune, lr: c.train.finetuneLearningRate, batch: c.train.trainBatch, loraRank: c.train.loraRank });
  const r = await runStage(c, 'finetune', built.step, { data: eOpt.data as Float32Array, dims: eOpt.dims }, c.train.finetuneSteps);
  return { tensors: r.params, losses: r.losses };
}

interface Trained {
  tensors: Map<string, TensorValue>;
  losses: number[];
}

async function runStage(c: Common, stage: 'embedding' | 'finetune', step: TrainStep, embedding: { data: Float32Array; dims: number[] } | null, steps: number): Promise<{ params: Map<string, TensorValue>; losses: number[] }> {
  return trainStage({
    step, embedding,
    latent: { data: c.latent.data as Float32Array, dims: c.latent.dims },
    alphaBar: alphaBarFor(c.model.folder.schedulerConfig),
    prediction: c.model.folder.schedulerConfig.prediction_type,
    timestepType: c.model.unetSig.timestepType, timestepShape: c.model.unetSig.timestepShape,
    steps, batch: c.train.trainBatch,
    seed: (c.train.trainSeed * 2 + (stage === 'embedding' ? 1 : 2)) >>> 0,
    executionProviders: c.options.executionProviders,
    what: stage === 'embedding' ? 'Imagic stage 1 (embedding)' : `Imagic stage 2 (${c.train.tune === 'lora' ? `LoRA rank ${c.train.loraRank}` : 'full fine-tuning'})`,
  }, { onStep: (i, total, loss) => c.options.onProgress?.({ stage, step: i, total, loss }), isCancelled: c.options.isCancelled });
}

interface CacheUse {
  useCache: boolean;
  cache: StageCache;
  progress: (p: ImagicProgress) => void;
  warn: (message: string) => void;
}

/**
 * A trained stage from the cache, or trained and then kept there. Failing to keep it (a full disk, a
 * read-only cache folder) costs only the next edit's time: the edit goes on with a warning.
 */
async function cached(c: CacheUse, path: string, stage: 'embedding' | 'finetune', compute: () => Promise<Trained>): Promise<Trained & { cached: boolean }> {
  const hit = c.useCache ? c.cache.read(path) : null;
  if (hit) {
    c.progress({ stage, step: 1, total: 1, cached: true });
    return { tensors: hit, losses: [], cached: true };
  }
  const r = await compute();
  if (c.useCache) {
    try {
      c.cache.write(path, r.tensors);
    } catch (err) {
      c.warn(`could not keep the trained ${stage} stage in the Imagic cache (${path}: ${(err as Error).message}); the edit goes on, and the next edit with these settings trains again`);
    }
  }
  return { ...r, cached: false };
}

/** x0 = scaling_factor * VAE-encoder(image): the latent the UNet learns to reconstruct. */
async function encodeImage(model: OpenModel, img: PreparedImage): Promise<TensorValue> {
  const latent = await encodePixels(model, rgbToTensor(img), img.height, img.width);
  return { dtype: 'float32', dims: latent.dims, data: latent.data };
}

/** last_hidden_state of [prompt, negative] (the negative is the unconditional text of guidance). */
async function encodeText(model: OpenModel, prompts: [string, string]): Promise<{ target: TensorValue; uncond: TensorValue }> {
  const e = await encodePrompts(model, prompts);
  const dims = [1, e.dims[1], e.dims[2]];
  return { target: { dtype: 'float32', dims, data: embeddingRow(e, 0).slice() }, uncond: { dtype: 'float32', dims, data: embeddingRow(e, 1).slice() } };
}

function parameters(s: ResolvedSettings, sampler: string, model: string, hash: string, image: string, input: PreparedImage, t: TrainSettings, eta: number): GenerationParameters {
  return {
    prompt: s.prompt, negativePrompt: s.negativePrompt, steps: s.steps, sampler, cfgScale: s.guidanceScale,
    seed: s.seed, width: s.width, height: s.height, model, modelHash: hash,
    extra: {
      'Imagic eta': eta,
      'Imagic source': basename(image),
      'Imagic source hash': input.sourceHash.slice(0, 10),
      'Imagic embedding steps': `${t.embeddingSteps} at lr ${t.embeddingLearningRate}`,
      'Imagic fine-tune': `${t.tune === 'lora' ? `LoRA r${t.loraRank}` : 'full'}, ${t.finetuneSteps} steps at lr ${t.finetuneLearningRate}`,
    },
  };
}
