/**
 * Text-to-image (and image-to-image) with classifier-free guidance, for any model folder in the
 * diffusers ONNX layout. Read top to bottom:
 *
 *   1. check inputs      resolve the model, open and check its sessions, fill in the settings
 *   2. encode prompt     [negative, prompt] through the text encoder in one run
 *   3. timesteps         the scheduler's steps (image-to-image starts part-way, by strength)
 *   4. latents           seeded noise per image (seed + k), or the encoded image noised to the start
 *   5. denoising loop    UNet on [uncond x B, cond x B] (or once with guidance_scale for a guided
 *                        student), guidance, scheduler step; progress, preview (the current x0
 *                        estimate) and cancellation each step
 *   6. decode            VAE decoder, PNG with the A1111 `parameters` chunk, exclusive-create file
 *
 * Runs on the calling thread (ONNX Runtime blocks it while a model runs); the sidecar calls it from its
 * worker thread.
 */
import * as ort from 'onnxruntime-node';
import { encodePng, readImageTensor, tensorToRgb } from '../io/images';
import { modelHash } from '../io/model-folder';
import { modelRoots, resolveModel, DEFAULT_MODEL } from '../io/model-discovery';
import { outputPath, writeExclusive } from '../io/outputs';
import { formatParameters, type GenerationParameters } from '../io/png-metadata';
import { createScheduler, SeededRandom, splitPredictionVp, type NormalSource, type Scheduler } from '../schedulers/index';
import { alphaBarFor, interpAt } from '../schedulers/noise-schedule';
import { applyGuidance, usesGuidanceBatch } from './guidance';
import { openModel, type OpenModel } from './model-sessions';
import { resolveSettings, type ResolvedSettings, type TextToImageRequest } from './request';
import { floatTensor, readFloats, tile } from './tensors';

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
}

export interface TextToImageResult {
  /** Absolute paths of the PNGs written, in image order. */
  files: string[];
  /** The parameters embedded in each PNG. */
  metadata: GenerationParameters[];
  /** Wall time and the part of it spent inside ONNX Runtime runs, in ms. */
  timings: { totalMs: number; ortMs: number };
}

export class GenerationCancelledError extends Error {
  constructor() {
    super('generation cancelled');
    this.name = 'GenerationCancelledError';
  }
}

export async function textToImage(request: TextToImageRequest, options: GenerateOptions = {}): Promise<TextToImageResult> {
  const t0 = performance.now();
  const timer = { ortMs: 0 };
  // 1. Check inputs.
  const folder = resolveModel(request.model ?? DEFAULT_MODEL, modelRoots(request.modelRoots ?? []));
  const model = await openModel(folder, options, request.initImage !== undefined);
  const vaeScale = folder.vaeScaleFactor ?? 8;
  const native = model.unetSig.latentSize ?? [folder.sampleSize ?? 64, folder.sampleSize ?? 64];
  const s = resolveSettings(request, folder, [native[0] * vaeScale, native[1] * vaeScale], vaeScale);
  const guided = model.unetSig.guidanceInput !== null;
  if (guided && s.negativePrompt) {
    throw new RangeError(`${folder.name} is a guided student (guidance is a UNet input): it cannot use a negative prompt`);
  }
  const useBatch = !guided && usesGuidanceBatch(s.guidanceScale);
  const latentShape = [model.unetSig.latentChannels, s.height / vaeScale, s.width / vaeScale];
  const hash = await modelHash(folder);
  // 2. Encode the prompt: [negative, prompt] in one run.
  const text = await encodePrompts(model, useBatch ? [s.negativePrompt, s.prompt] : [s.prompt], timer);
  const files: string[] = [];
  const metadata: GenerationParameters[] = [];
  for (let first = 0; first < s.count; first += s.batchSize) {
    const n = Math.min(s.batchSize, s.count - first);
    const seeds = Array.from({ length: n }, (_, k) => s.seed + first + k);
    // 3. Timesteps. 4. Latents.
    const scheduler = createScheduler(s.scheduler, folder.schedulerConfig);
    const { latents, startStep } = await prepareLatents(model, scheduler, s, seeds, latentShape, timer);
    // 5. Denoising loop.
    const rngs = seeds.map((seed) => new SeededRandom(seed));
    const final = await denoise(model, scheduler, s, { latents, startStep, text, useBatch, rngs, first, shape: latentShape, timer }, options);
    // 6. Decode and write.
    const images = await decode(model, final, n, latentShape, timer);
    for (let k = 0; k < n; k++) {
      const params = parametersFor(s, scheduler.displayName, seeds[k], folder.name, hash);
      const png = encodePng(images.rgb[k], images.width, images.height, { parameters: formatParameters(params) });
      files.push(await writeExclusive(outputPath(s.out, s.prompt, seeds[k], first + k, s.count), png));
      metadata.push(params);
    }
  }
  return { files, metadata, timings: { totalMs: performance.now() - t0, ortMs: timer.ortMs } };
}

interface Timer {
  ortMs: number;
}

async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, timer: Timer): Promise<ort.InferenceSession.ReturnType> {
  const t = performance.now();
  const out = await session.run(feeds);
  timer.ortMs += performance.now() - t;
  return out;
}

/** last_hidden_state for each prompt: [prompts.length, seq, width] as float32. */
async function encodePrompts(model: OpenModel, prompts: string[], timer: Timer): Promise<{ data: Float32Array; dims: number[] }> {
  const ids = model.tokenizer.encode(prompts);
  const len = model.tokenizer.maxLength;
  const input = model.textIdsType === 'int64' ? new ort.Tensor('int64', ids, [prompts.length, len]) : new ort.Tensor('int32', Int32Array.from(ids, Number), [prompts.length, len]);
  const out = (await run(model.textEncoder, { input_ids: input }, timer)).last_hidden_state;
  return { data: readFloats(out), dims: [...out.dims] };
}

async function prepareLatents(
  model: OpenModel,
  scheduler: Scheduler,
  s: ResolvedSettings,
  seeds: number[],
  shape: number[],
  timer: Timer,
): Promise<{ latents: Float32Array; startStep: number }> {
  scheduler.setTimesteps(s.steps);
  const per = shape[0] * shape[1] * shape[2];
  // Each image's initial noise comes from its own seed, so a batch gives the same images as single runs.
  const noise = new Float32Array(per * seeds.length);
  seeds.forEach((seed, k) => noise.set(new SeededRandom((seed ^ 0x5eed) >>> 0).fillNormal(new Float32Array(per)), k * per));
  if (!s.initImage) return { latents: noise.map((x) => x * scheduler.initNoiseSigma), startStep: 0 };
  // Image-to-image (SDEdit, Meng et al. 2022): start at step steps - floor(steps * strength).
  const startStep = s.steps - Math.max(1, Math.floor(s.steps * s.strength));
  const pixels = await readImageTensor(s.initImage, s.width, s.height);
  const enc = model.vaeEncoder as ort.InferenceSession;
  const out = await run(enc, { sample: floatTensor(model.vaeEncoderFloat, pixels, [1, 3, s.height, s.width]) }, timer);
  const latent = readFloats(out.latent_sample).map((x) => x * model.folder.scalingFactor);
  return { latents: scheduler.addNoise(tile(latent, seeds.length), noise, startStep), startStep };
}

interface LoopState {
  latents: Float32Array;
  startStep: number;
  text: { data: Float32Array; dims: number[] };
  useBatch: boolean;
  rngs: SeededRandom[];
  first: number;
  /** One image's latent dims [C, h, w]. */
  shape: number[];
  timer: Timer;
}

async function denoise(model: OpenModel, scheduler: Scheduler, s: ResolvedSettings, st: LoopState, options: GenerateOptions): Promise<Float32Array> {
  const n = st.rngs.length;
  const rows = st.useBatch ? 2 * n : n;
  const [, seq, width] = st.text.dims;
  // [uncond x n, cond x n]: the text encoder gave [uncond, cond] (or just [cond]).
  const rowLen = seq * width;
  const context = st.useBatch
    ? new Float32Array([...tile(st.text.data.subarray(0, rowLen), n), ...tile(st.text.data.subarray(rowLen), n)])
    : tile(st.text.data, n);
  const sig = model.unetSig;
  const ctxTensor = floatTensor(sig.floatType, context, [rows, seq, width]);
  const noise = batchNoise(st.rngs);
  const per = st.latents.length / n;
  const total = scheduler.timesteps.length - st.startStep;
  let latents = st.latents;
  for (let i = st.startStep; i < scheduler.timesteps.length; i++) {
    if (options.isCancelled?.()) throw new GenerationCancelledError();
    const input = scheduler.scaleModelInput(latents, i);
    const feeds: Record<string, ort.Tensor> = {
      sample: floatTensor(sig.floatType, st.useBatch ? tile(input, 2) : input, [rows, ...st.shape]),
      timestep: timestepTensor(model, scheduler.timesteps[i], rows),
      encoder_hidden_states: ctxTensor,
    };
    if (sig.guidanceInput) feeds.guidance_scale = vectorTensor(sig.guidanceInput.type, sig.guidanceInput.shape, s.guidanceScale, rows);
    const out = readFloats((await run(model.unet, feeds, st.timer)).out_sample);
    const guided = st.useBatch ? applyGuidance(out, s.guidanceScale) : out;
    latents = scheduler.step(guided, i, latents, noise);
    const done = i - st.startStep + 1;
    const preview = s.previewEvery > 0 && done % s.previewEvery === 0
      ? await previewPng(model, cleanEstimate(model, input.subarray(0, per), guided.subarray(0, per), scheduler.timesteps[i]), st.shape, st.timer)
      : undefined;
    options.onProgress?.({ image: st.first, count: s.count, step: done, totalSteps: total, ...(preview ? { preview } : {}) });
  }
  return latents;
}

/** The UNet's timestep, in its declared type and shape (SD 1.x: int64; SD 2.x: float). */
function timestepTensor(model: OpenModel, t: number, rows: number): ort.Tensor {
  const type = model.unetSig.timestepType;
  if (type === 'float32' || type === 'float16') return vectorTensor(type, model.unetSig.timestepShape, t, rows);
  const v = Math.round(t);
  const dims = shapeDims(model.unetSig.timestepShape, rows);
  const len = dims.length ? dims[0] : 1;
  return type === 'int64'
    ? new ort.Tensor('int64', new BigInt64Array(len).fill(BigInt(v)), dims)
    : new ort.Tensor('int32', new Int32Array(len).fill(v), dims);
}

function vectorTensor(type: 'float32' | 'float16', shape: 'scalar' | 'one' | 'batch', value: number, rows: number): ort.Tensor {
  const dims = shapeDims(shape, rows);
  return floatTensor(type, new Float32Array(dims.length ? dims[0] : 1).fill(value), dims);
}

function shapeDims(shape: 'scalar' | 'one' | 'batch', rows: number): number[] {
  return shape === 'scalar' ? [] : shape === 'one' ? [1] : [rows];
}

/** Noise for stochastic steps: image k's slice from image k's own generator. */
function batchNoise(rngs: SeededRandom[]): NormalSource {
  return {
    fillNormal(out) {
      const per = out.length / rngs.length;
      rngs.forEach((r, k) => r.fillNormal(out.subarray(k * per, (k + 1) * per)));
      return out;
    },
  };
}

async function decode(model: OpenModel, latents: Float32Array, n: number, shape: number[], timer: Timer): Promise<{ rgb: Uint8Array[]; width: number; height: number }> {
  const scaled = latents.map((x) => x / model.folder.scalingFactor);
  const out = (await run(model.vaeDecoder, { latent_sample: floatTensor(model.vaeDecoderFloat, scaled, [n, ...shape]) }, timer)).sample;
  const [, , height, width] = out.dims;
  const data = readFloats(out);
  return { rgb: Array.from({ length: n }, (_, k) => tensorToRgb(data, k, height, width)), width, height };
}

/**
 * The model's current estimate of the clean latent x0 (what the image is becoming), from the UNet's input
 * x_t (variance-preserving scale) and its guided output at timestep t: a preview that is not buried in noise.
 */
function cleanEstimate(model: OpenModel, xt: Float32Array, output: Float32Array, t: number): Float32Array {
  const config = model.folder.schedulerConfig;
  return splitPredictionVp(config.prediction_type, output, xt, interpAt(alphaBarFor(config), t)).x0;
}

/** A latent decoded to a PNG (progress previews). */
async function previewPng(model: OpenModel, latent: Float32Array, shape: number[], timer: Timer): Promise<Uint8Array> {
  const img = await decode(model, latent, 1, shape, timer);
  return encodePng(img.rgb[0], img.width, img.height);
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
