/**
 * What the student trains on: prompts (encoded once by the base's text encoder) and clean latents x
 * to noise into z_t = alpha_t x + sigma_t eps (Algorithm 2, line 3).
 *
 * Three sources (decision, docs/DISTILLATION.md):
 *   - 'emoji': the embedded family's own training set (Noto emoji with captions) encoded by the base's
 *     VAE encoder: real data, as in the papers;
 *   - 'styles': the same for the 64x64 multi-style family (seven emoji sets, plain and styled captions);
 *   - 'teacher': for any other model, latents the teacher itself samples (8 guided DDIM steps) from the
 *     prompts given (or a small built-in list). The targets are defined for any z_t; these only decide
 *     where the student is trained.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { packageRoot } from '../../io/model-discovery';
import type { ModelFolder } from '../../io/model-folder';
import { cachedTokenizer } from '../../io/tokenizer';
import { getSession } from '../../runtime/sessions';
import { rngFor, type Rng } from '../../graph/init';
import { imageToCHW, loadEmojiDataset } from '../../train/data/emoji';
import { loadStyledEmoji, sampleToCHW, type EmojiStyle } from '../../train/data/emoji-styles';
import { withStyle } from '../../train/data/style-captions';
import { digitCaptions, loadMnist } from '../../train/data/mnist';
import { encodePrompts, type TextEncoder } from '../core/prompt';
import { denoise } from '../core/denoise';
import { gridSampler, type NoiseLevels } from './targets';
import type { Teacher } from './teacher';

export interface DistillData {
  /** One row's latent dims [C, H, W] and text context dims [L, D]. */
  latentShape: number[];
  contextShape: number[];
  /** The empty prompt's embedding [L * D]. */
  uncond: Float32Array;
  prompts: string[];
  /** Embeddings of `prompts`, [P * L * D]. */
  embeddings: Float32Array;
  /** Clean latents [M * C * H * W] and, for each, the indices of prompts that describe it. */
  latents: Float32Array;
  captions: number[][];
  /** How many rows each source gave (e.g. { drawings: 7992, digits: 1142 }), where the set mixes sources; distill.json records it. */
  rows?: Record<string, number>;
}

export const DEFAULT_PROMPTS = [
  'a cat', 'a dog', 'a red apple', 'a house', 'a tree', 'a smiling face', 'a cup of coffee', 'a flower',
  'a car', 'a bird', 'a boat', 'a star', 'a heart', 'a pizza', 'a rocket', 'a fish',
];

/**
 * One training row as every batch draws it: a clean latent m uniformly, then one of its captions p.
 * batch.ts and the visited-latent pool (visited.ts) both draw prompts this way, from their own streams.
 */
export function drawRow(data: DistillData, rng: Rng): { m: number; p: number } {
  const m = rng.int(data.captions.length);
  const caps = data.captions[m];
  return { m, p: caps[rng.int(caps.length)] };
}

/** Embeddings of `prompts` through the folder's tokenizer and text encoder, in batches. */
export async function encodeTexts(folder: ModelFolder, prompts: string[]): Promise<{ data: Float32Array; dims: number[] }> {
  const s = await getSession(folder.files.textEncoder);
  try {
    const ids = s.inputMetadata.find((m) => m.name === 'input_ids');
    const out = s.outputMetadata.find((m) => m.name === 'last_hidden_state');
    const len = out?.isTensor && typeof out.shape[1] === 'number' ? out.shape[1] : ids?.isTensor && typeof ids.shape[1] === 'number' ? ids.shape[1] : 77;
    const tok = cachedTokenizer(folder.files.tokenizerDir, len);
    const chunks: Float32Array[] = [];
    let dims: number[] = [];
    const encoder: TextEncoder = { tokenizer: tok, textEncoder: s, textIdsType: ids?.isTensor && ids.type === 'int32' ? 'int32' : 'int64' };
    for (let i = 0; i < prompts.length; i += 64) {
      const e = await encodePrompts(encoder, prompts.slice(i, i + 64));
      dims = e.dims;
      chunks.push(e.data);
    }
    const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      data.set(c, o);
      o += c.length;
    }
    return { data, dims: [prompts.length, ...dims.slice(1)] };
  } finally {
    await s.release();
  }
}

/** The emoji set: captions and VAE-encoded images (scaled by the VAE's scaling factor). */
export async function emojiData(folder: ModelFolder, limit = Infinity): Promise<DistillData> {
  const ds = await loadEmojiDataset(join(packageRoot(), '.cache', 'data'), 32);
  const n = Math.min(ds.items.length, limit);
  const prompts: string[] = [];
  const captions: number[][] = [];
  for (let i = 0; i < n; i++) {
    captions.push(ds.items[i].captions.map((c) => prompts.push(c) - 1));
  }
  return withEncoded(folder, prompts, captions, ds.size, (i, out, offset) => imageToCHW(ds, i, out, offset));
}

/** Options of the styled set as distillation data (the defaults: the 64x64 family's whole set). */
export interface StylesDataOptions {
  size?: number;
  styles?: readonly EmojiStyle[];
  cacheDir?: string;
  /** At most this many drawings, spread over the set (tests). */
  limit?: number;
  /**
   * Training-split MNIST digits beside the drawings, as the teacher's training has them (one row in
   * eight); default: a seventh of the drawings' count, spread over the split (so over every digit).
   */
  digits?: number;
}

/** Share of the teacher's training rows that were digits (scripts/train/styles-data.ts). */
const DIGIT_SHARE = 1 / 8;

/**
 * The 64x64 multi-style family's own training set (issue 13): every drawing of the seven emoji sets,
 * described by its emoji's plain captions (which sample across styles) and by the canonical caption in
 * each of its style's words ("a cat face, flat style"), as the UNet was trained; so a student learns the
 * style words too, about half its batches carrying one, like the teacher's training. Plus MNIST training
 * digits under their captions, one row in eight as in the teacher's training: students distilled
 * without them (every set up to 2026-12-06's fourth) drew "a handwritten number 7" right a third of
 * the time, where the teacher does 99.5% (docs/DISTILLATION.md).
 */
export async function stylesData(folder: ModelFolder, o: StylesDataOptions = {}): Promise<DistillData> {
  const cacheDir = o.cacheDir ?? join(packageRoot(), '.cache', 'data');
  const ds = await loadStyledEmoji({ size: o.size ?? 64, cacheDir, ...(o.styles ? { styles: o.styles } : {}) });
  const n = Math.min(ds.samples.length, o.limit ?? Infinity);
  const picked = Array.from({ length: n }, (_, k) => Math.floor((k * ds.samples.length) / n));
  const prompts: string[] = [];
  const index = new Map<string, number>();
  const id = (p: string) => index.get(p) ?? (index.set(p, prompts.push(p) - 1), prompts.length - 1);
  const captions = picked.map((k) => {
    const x = ds.samples[k], style = ds.styles[x.style], plain = ds.emoji[x.emoji].captions;
    return [...plain.map(id), ...style.words.map((_, w) => id(withStyle(plain[0], style, w, 0)))];
  });
  // The digits the teacher learnt to draw ("a handwritten number 7"): never the held-out split, which eval reads.
  const mnist = await loadMnist({ size: ds.size, cacheDir });
  const nd = Math.min(mnist.train.length, o.digits ?? Math.round((n * DIGIT_SHARE) / (1 - DIGIT_SHARE)));
  const digits = Array.from({ length: nd }, (_, k) => mnist.train[Math.floor((k * mnist.train.length) / nd)]);
  for (const i of digits) captions.push(digitCaptions(mnist.labels[i]).map(id));
  const data = await withEncoded(folder, prompts, captions, ds.size, (i, out, offset) => (i < n ? sampleToCHW(ds, picked[i], out, offset) : imageToCHW(mnist, digits[i - n], out, offset)));
  return { ...data, rows: { drawings: n, digits: nd } };
}

/** `prompts` through the text encoder and `captions.length` images (drawn by `image`) through the VAE encoder, scaled. */
async function withEncoded(
  folder: ModelFolder,
  prompts: string[],
  captions: number[][],
  size: number,
  image: (i: number, out: Float32Array, offset: number) => void,
): Promise<DistillData> {
  const n = captions.length;
  const text = await encodeTexts(folder, ['', ...prompts]);
  const row = text.dims[1] * text.dims[2];
  if (!folder.files.vaeEncoder) throw new Error(`${folder.dir} has no vae_encoder: its training images cannot be encoded`);
  const enc = await getSession(folder.files.vaeEncoder);
  const chunks: Float32Array[] = [];
  let latentShape: number[] = [];
  const hw = size * size * 3;
  for (let i = 0; i < n; i += 64) {
    const m = Math.min(64, n - i);
    const pixels = new Float32Array(m * hw);
    for (let k = 0; k < m; k++) image(i + k, pixels, k * hw);
    const r = (await enc.run({ sample: new ort.Tensor('float32', pixels, [m, 3, size, size]) })).latent_sample;
    latentShape = [...r.dims.slice(1)];
    chunks.push(Float32Array.from(r.data as Float32Array, (v) => v * folder.scalingFactor));
  }
  await enc.release();
  const per = latentShape.reduce((a, b) => a * b, 1);
  const latents = new Float32Array(n * per);
  chunks.forEach((c, k) => latents.set(c, k * 64 * per));
  return {
    latentShape, contextShape: text.dims.slice(1), uncond: text.data.slice(0, row),
    prompts, embeddings: text.data.slice(row), latents, captions,
  };
}

/**
 * Teacher samples as data: `count` latents, prompt k % P each, by 8 deterministic DDIM steps of the
 * teacher at guidance `scale`, starting from seeded noise.
 */
export async function teacherData(
  folder: ModelFolder, teacher: Teacher, levels: NoiseLevels, kind: 'epsilon' | 'v_prediction' | 'sample',
  o: { prompts: string[]; count: number; latentShape: number[]; scale: number; seed: number },
): Promise<DistillData> {
  const text = await encodeTexts(folder, ['', ...o.prompts]);
  const row = text.dims[1] * text.dims[2];
  const per = o.latentShape.reduce((a, b) => a * b, 1);
  const latents = new Float32Array(o.count * per);
  const sampler = gridSampler(kind, levels, 8);
  const rng = rngFor(o.seed, 'teacher-data');
  for (let first = 0; first < o.count; first += 8) {
    const rows = Math.min(8, o.count - first);
    const idx = Array.from({ length: rows }, (_, k) => (first + k) % o.prompts.length);
    const cond = new Float32Array(rows * row);
    idx.forEach((p, k) => cond.set(text.data.subarray((p + 1) * row, (p + 2) * row), k * row));
    const z = await denoise({
      unet: { session: teacher.session, sig: teacher.sig }, scheduler: sampler, shape: o.latentShape,
      latents: rng.fillNormal(new Float32Array(rows * per)),
      text: { cond, uncond: text.data.subarray(0, row), dims: text.dims.slice(1) },
      guidanceScale: o.scale, mode: teacher.guidanceMode([o.scale]),
    });
    latents.set(z, first * per);
  }
  return {
    latentShape: o.latentShape, contextShape: text.dims.slice(1), uncond: text.data.slice(0, row),
    prompts: o.prompts, embeddings: text.data.slice(row), latents,
    captions: Array.from({ length: o.count }, (_, m) => [m % o.prompts.length]),
  };
}
