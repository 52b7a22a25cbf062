/**
 * `diffusion-studio eval`: how good is a model folder at drawing the emoji it was trained on?
 *
 *   1. prompts       the canonical caption ("a swan") of `count` emoji spread evenly over the set
 *   2. generate      one seeded image per prompt (sample.ts), batch by batch
 *   3. embed         generated and real images through the family's image encoder; captions through
 *                    its text encoder (CLIP-style joint space, cosine similarity)
 *   4. metrics       FID-analogue: Fréchet distance between generated and real image features;
 *                    CLIP-score analogue: mean cosine(image, its prompt); object accuracy: share of
 *                    generated images whose nearest caption, among the canonical captions of ALL
 *                    emoji in the set, is their own. The same numbers on the real images are reported
 *                    as the ceiling the encoders allow.
 *   5. variety       64x64 multi-style family only (variety.ts): digits read by the digit evaluator,
 *                    styles per 8 seeds, style-word adherence.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelFolderError } from '../../io/errors';
import { resolveModel, modelRoots, packageRoot } from '../../io/model-discovery';
import { openModel, type OpenModel } from '../model-sessions';
import { getSession } from '../../runtime/sessions';
import { concatFloats, readFloats } from '../tensors';
import { findSampler } from '../../../protocol/samplers';
import type { SchedulerName } from '../../schedulers/index';
import { modelDefaults } from '../request';
import { loadEmojiDataset, imageToCHW } from '../../train/data/emoji';
import { drawingsByEmoji, loadStyledEmoji, sampleToCHW } from '../../train/data/emoji-styles';
import { measureVariety, type VarietyOptions, type VarietyReport } from './variety';
import { fitGaussian, frechetDistance } from './frechet';
import { sampleInBatches } from './sample';
import { nativeLatentSize, seedsFit } from '../core/latents';

export interface EvalOptions {
  model: string;
  /** Sampling settings; each defaults to the model's own (model_index.json "defaults", distill.json). */
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  seed: number;
  /** Generated images (one per prompt); at least 1000 for a meaningful Fréchet distance. */
  count: number;
  batch: number;
  modelRoots?: string[];
  onProgress?(done: number, total: number): void;
  /** The 64x64 family's digit / variety / style-word measures (variety.ts): on unless false. */
  variety?: boolean;
  /** Smaller sample counts for those measures (tests). */
  varietySizes?: Pick<VarietyOptions, 'perDigit' | 'varietyPrompts' | 'perStyle'>;
}

export interface EvalReport {
  model: string;
  images: number;
  steps: number;
  guidance: number;
  scheduler: string;
  seed: number;
  /** Fréchet distance between generated and real image-encoder features (lower is better). */
  fid: number;
  /** Mean cosine of each generated image's embedding with its prompt's (higher is better). */
  clipScore: number;
  /** Share of generated images whose nearest canonical caption names the prompted object. */
  objectAccuracy: number;
  /** The same two measures on the real images of the prompted emoji: what the encoders allow. */
  real: { clipScore: number; objectAccuracy: number };
  seconds: number;
  /** Per-prompt outcome, for inspection. */
  samples: Array<{ prompt: string; nearest: string; cosine: number }>;
  /** The 64x64 multi-style family only: digits, styles per 8 seeds, style-word adherence. */
  variety?: VarietyReport;
}

/** The family's image encoder: the folder's own, else its base's (students share the base's). */
export function imageEncoderPath(model: OpenModel): string {
  const own = join(model.folder.dir, 'image_encoder', 'model.onnx');
  if (existsSync(own)) return own;
  const base = join(dirname(dirname(model.folder.files.textEncoder)), 'image_encoder', 'model.onnx');
  if (existsSync(base)) return base;
  throw new ModelFolderError(own, "is missing (nor does the model's base have one): eval embeds images with the family's image encoder");
}

function normaliseRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length / dim; i++) {
    let n = 0;
    for (let j = 0; j < dim; j++) n += x[i * dim + j] ** 2;
    n = Math.sqrt(n) || 1;
    for (let j = 0; j < dim; j++) out[i * dim + j] = x[i * dim + j] / n;
  }
  return out;
}

export async function embedImages(session: ort.InferenceSession, images: Float32Array, size: number, batch: number): Promise<{ embeds: Float32Array; features: Float32Array; eDim: number; fDim: number }> {
  const per = 3 * size * size;
  const n = images.length / per;
  const embeds: Float32Array[] = [], features: Float32Array[] = [];
  let eDim = 0, fDim = 0;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const out = await session.run({ pixel_values: new ort.Tensor('float32', images.slice(i * per, (i + m) * per), [m, 3, size, size]) });
    eDim = out.image_embeds.dims[1];
    fDim = out.features.dims[1];
    embeds.push(readFloats(out.image_embeds));
    features.push(readFloats(out.features));
  }
  return { embeds: normaliseRows(concatFloats(embeds), eDim), features: concatFloats(features), eDim, fDim };
}

async function embedTexts(model: OpenModel, prompts: string[], batch: number): Promise<{ embeds: Float32Array; dim: number }> {
  const parts: Float32Array[] = [];
  let dim = 0;
  for (let i = 0; i < prompts.length; i += batch) {
    const chunk = prompts.slice(i, i + batch);
    const ids = model.tokenizer.encode(chunk);
    const out = await model.textEncoder.run({ input_ids: new ort.Tensor('int64', ids, [chunk.length, model.tokenizer.maxLength]) });
    if (!out.text_embeds) throw new Error(`${model.folder.files.textEncoder} has no text_embeds output: eval needs the family's CLIP-style text encoder`);
    dim = out.text_embeds.dims[1];
    parts.push(readFloats(out.text_embeds));
  }
  const all = new Float32Array(prompts.length * dim);
  parts.forEach((p, k) => all.set(p, k * batch * dim));
  return { embeds: normaliseRows(all, dim), dim };
}

/** For image rows: the index of the nearest caption and the cosine with caption `own[i]`. */
function nearest(img: Float32Array, txt: Float32Array, dim: number, own: number[]): { idx: number[]; cos: number[] } {
  const nImg = img.length / dim, nTxt = txt.length / dim;
  const idx: number[] = [], cos: number[] = [];
  for (let i = 0; i < nImg; i++) {
    let best = -Infinity, arg = -1;
    for (let t = 0; t < nTxt; t++) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += img[i * dim + j] * txt[t * dim + j];
      if (d > best) { best = d; arg = t; }
      if (t === own[i]) cos[i] = d;
    }
    idx.push(arg);
  }
  return { idx, cos };
}

/**
 * The real images a model is measured against: emoji-base's 32x32 Noto set, or for the 64x64 family
 * every drawing of the seven-style set (FID against all of them; the real-image ceiling of object
 * accuracy cycles through each prompted emoji's styles).
 */
export interface RealSet {
  size: number;
  /** Per emoji: canonical caption and object words. */
  captions: string[];
  objects: string[];
  /** Every real image, [N, 3, S, S] in [-1, 1]. */
  all(): Float32Array;
  /** A real image of emoji `e` (the k-th prompt's). */
  image(e: number, k: number, out: Float32Array, offset: number): void;
}

export async function realSet(size: number, dataDir: string): Promise<RealSet> {
  if (size === 64) {
    const ds = await loadStyledEmoji({ size, cacheDir: dataDir });
    const by = drawingsByEmoji(ds);
    const per = 3 * size * size;
    return {
      size, captions: ds.emoji.map((e) => e.captions[0]), objects: ds.emoji.map((e) => e.object),
      all: () => { const out = new Float32Array(ds.samples.length * per); ds.samples.forEach((_, k) => sampleToCHW(ds, k, out, k * per)); return out; },
      image: (e, k, out, offset) => sampleToCHW(ds, by[e][k % by[e].length], out, offset),
    };
  }
  const ds = await loadEmojiDataset(dataDir);
  const per = 3 * ds.size * ds.size;
  return {
    size: ds.size, captions: ds.items.map((it) => it.captions[0]), objects: ds.items.map((it) => it.object),
    all: () => { const out = new Float32Array(ds.items.length * per); ds.items.forEach((_, i) => imageToCHW(ds, i, out, i * per)); return out; },
    image: (e, _k, out, offset) => imageToCHW(ds, e, out, offset),
  };
}

/** The emoji eval prompts: `count` of them (at most one per emoji) spread evenly over the caption set. */
export function evalPrompts(ds: Pick<RealSet, 'captions'>, count: number): number[] {
  const n = Math.min(count, ds.captions.length);
  return Array.from({ length: n }, (_, k) => Math.floor(k * ds.captions.length / n));
}

export async function evaluate(o: EvalOptions): Promise<EvalReport> {
  const t0 = performance.now();
  if (!seedsFit(o.seed, o.count)) {
    throw new RangeError(`the seed must be an integer from 0 to ${0xffffffff - Math.max(0, o.count - 1)} for ${o.count} images (image k uses seed + k), got ${o.seed}`);
  }
  const folder = resolveModel(o.model, modelRoots(o.modelRoots ?? []));
  const model = await openModel(folder, {});
  const d = modelDefaults(folder);
  const steps = o.steps ?? d.steps ?? 20;
  const guidance = o.guidance ?? d.guidance_scale ?? 2.5;
  // A model folder may spell its sampler any way the table accepts (e.g. an earlier 'dpm++2m').
  const scheduler: SchedulerName = o.scheduler ?? (d.scheduler ? findSampler(d.scheduler)?.id : undefined) ?? 'ddim';
  const imageEncoder = await getSession(imageEncoderPath(model), {});
  // 1. Prompts.
  const dataDir = join(packageRoot(), '.cache', 'data');
  const side = nativeLatentSize(model, 8)[0] * (folder.vaeScaleFactor ?? 8);
  const ds = await realSet(side, dataDir);
  const chosen = evalPrompts(ds, o.count);
  const n = chosen.length;
  const captions = ds.captions;
  const prompts = chosen.map((i) => captions[i]);
  // 2. Generate.
  const { images: genPixels, size } = await sampleInBatches(model, prompts, { steps, guidance, scheduler, seed: o.seed }, o.batch, o.onProgress);
  // 3. Embed.
  const gen = await embedImages(imageEncoder, genPixels, size, o.batch);
  const allReal = ds.all();
  const real = await embedImages(imageEncoder, allReal, ds.size, o.batch);
  const per = 3 * ds.size * ds.size;
  const chosenPx = new Float32Array(n * per);
  chosen.forEach((e, k) => ds.image(e, k, chosenPx, k * per));
  const realOfChosen = await embedImages(imageEncoder, chosenPx, ds.size, o.batch);
  const text = await embedTexts(model, captions, 256);
  // 4. Metrics.
  const fid = frechetDistance(fitGaussian(gen.features, n, gen.fDim), fitGaussian(real.features, allReal.length / per, real.fDim));
  const g = nearest(gen.embeds, text.embeds, text.dim, chosen);
  const r = nearest(realOfChosen.embeds, text.embeds, text.dim, chosen);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const hit = (idx: number[]) => idx.filter((t, k) => ds.objects[t] === ds.objects[chosen[k]]).length / n;
  const evaluators = join(packageRoot(), 'models', 'evaluators');
  const variety = side === 64 && o.variety !== false
    ? await measureVariety(model, { steps, guidance, scheduler, seed: o.seed, batch: o.batch, evaluatorsDir: evaluators, dataDir, ...o.varietySizes })
    : undefined;
  return {
    model: folder.dir, images: n, steps, guidance, scheduler, seed: o.seed,
    fid, clipScore: mean(g.cos), objectAccuracy: hit(g.idx),
    real: { clipScore: mean(r.cos), objectAccuracy: hit(r.idx) },
    seconds: (performance.now() - t0) / 1000,
    samples: prompts.map((p, k) => ({ prompt: p, nearest: captions[g.idx[k]], cosine: g.cos[k] })),
    ...(variety ? { variety } : {}),
  };
}
