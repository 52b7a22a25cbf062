/**
 * The 64x64 multi-style family's own measures (issue 13), beside eval's FID / CLIP / object accuracy:
 *
 *   digits       "a handwritten number N" samples read by the digit evaluator (models/evaluators/digits):
 *                the share read as N; the evaluator's accuracy on the held-out MNIST digits beside it.
 *   variety      prompts without a style, 8 seeds each: how many different styles the style evaluator
 *                sees among the 8 (mean over prompts), and the mean pairwise pixel distance between the
 *                8, beside the mean distance between two real drawings of the same emoji.
 *   style words  "<object>, <word> style" samples: the share the style evaluator puts in that style;
 *                its accuracy on the real drawings of the same prompts beside it (its ceiling).
 *   objects      emoji spread over the whole caption set, each emoji's first caption (no style): the
 *                share the object evaluator (models/evaluators/objects, 1,412 classes) reads as the
 *                prompted emoji; beside it, its two ceilings on real drawings of the same emoji: one
 *                it learned (the styles cycling; what a model that redraws its data would get) and the
 *                one it never saw (a new drawing of a known object).
 *
 * Prompts for the style measures use the style evaluator's held-out emoji (index 9 mod 10), so the
 * ceiling reported beside them is on drawings it never trained on. Pixel distances are mean absolute
 * differences in 0..255 units per channel value (the unit of "seeds differ by 5/255").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { getSession } from '../../runtime/sessions';
import { concatFloats, readFloats } from '../tensors';
import type { OpenModel } from '../model-sessions';
import { sampleImages, sampleInBatches, type SampleOptions } from './sample';
import { drawingsByEmoji, loadStyledEmoji, objectHeldOut, sampleToCHW, type StyledEmojiDataset } from '../../train/data/emoji-styles';
import { imageToCHW } from '../../train/data/emoji';
import { digitCaptions, loadMnist } from '../../train/data/mnist';
import { withStyle } from '../../train/data/style-captions';

export interface VarietyReport {
  digits: { samples: number; accuracy: number; perDigit: number[]; evaluatorHeldOut: number };
  variety: { prompts: number; seeds: number; meanStyles: number; meanPairDistance: number; realPairDistance: number; distanceRatio: number };
  styleWords: { samples: number; accuracy: number; perStyle: Record<string, number>; evaluatorOnReal: number };
  /** Absent when models/evaluators/objects is not there. */
  objects?: { samples: number; accuracy: number; evaluatorOnLearned: number; evaluatorOnUnseen: number };
}

export interface VarietyOptions extends SampleOptions {
  evaluatorsDir: string;
  dataDir: string;
  batch: number;
  /** Samples per digit, prompts for variety, prompts per style (small values for tests). */
  perDigit?: number;
  varietyPrompts?: number;
  perStyle?: number;
  objectPrompts?: number;
}

const SEEDS = 8;
const heldOut = (emoji: number) => emoji % 10 === 9;

/** The class an evaluator (models/evaluators/<name>/model.onnx) gives each of `images` [n, 3, size, size]. */
export async function classify(path: string, images: Float32Array, size: number, batch: number): Promise<number[]> {
  const session = await getSession(path, {});
  const per = 3 * size * size, n = images.length / per, out: number[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const r = await session.run({ pixel_values: new ort.Tensor('float32', images.slice(i * per, (i + m) * per), [m, 3, size, size]) });
    const logits = readFloats(r.logits), k = r.logits.dims[1];
    for (let j = 0; j < m; j++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[j * k + c] > logits[j * k + best]) best = c;
      out.push(best);
    }
  }
  return out;
}

/** Mean absolute difference of two images (or image sets) in [-1, 1], in 0..255 per channel value. */
export function meanAbs255(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return (s / a.length) * 127.5;
}

function meanPairDistance(images: Float32Array[]): number {
  let s = 0, n = 0;
  for (let i = 0; i < images.length; i++) for (let j = i + 1; j < images.length; j++) { s += meanAbs255(images[i], images[j]); n++; }
  return n ? s / n : 0;
}

async function digitMeasure(model: OpenModel, o: VarietyOptions): Promise<VarietyReport['digits']> {
  const per = o.perDigit ?? 20;
  const prompts = Array.from({ length: 10 * per }, (_, k) => digitCaptions(Math.floor(k / per))[0]);
  const { images, size } = await sampleInBatches(model, prompts, o, o.batch);
  const path = join(o.evaluatorsDir, 'digits', 'model.onnx');
  const read = await classify(path, images, size, o.batch);
  const perDigit = Array.from({ length: 10 }, (_, d) => read.slice(d * per, (d + 1) * per).filter((x) => x === d).length / per);
  const m = await loadMnist({ size, cacheDir: o.dataDir });
  const per3 = 3 * size * size, px = new Float32Array(m.heldOut.length * per3);
  m.heldOut.forEach((idx, k) => imageToCHW(m, idx, px, k * per3));
  const real = await classify(path, px, size, o.batch);
  return {
    samples: prompts.length, accuracy: perDigit.reduce((a, b) => a + b, 0) / 10, perDigit,
    evaluatorHeldOut: real.filter((x, k) => x === m.labels[m.heldOut[k]]).length / real.length,
  };
}

async function varietyMeasure(model: OpenModel, ds: StyledEmojiDataset, o: VarietyOptions): Promise<VarietyReport['variety']> {
  const by = drawingsByEmoji(ds), per = 3 * ds.size * ds.size;
  const pool = ds.emoji.map((_, e) => e).filter((e) => heldOut(e) && by[e].length >= 3);
  const count = Math.min(o.varietyPrompts ?? 48, pool.length);
  const chosen = Array.from({ length: count }, (_, k) => pool[Math.floor(k * pool.length / count)]);
  const prompts = chosen.flatMap((e) => Array<string>(SEEDS).fill(ds.emoji[e].captions[0]));
  // Prompt j's 8 images use seeds seed .. seed + 7: the same seeds for every prompt, as a user would try.
  const parts: Float32Array[] = [];
  let size = 0;
  for (let j = 0; j < chosen.length; j++) {
    const r = await sampleImages(model, prompts.slice(j * SEEDS, (j + 1) * SEEDS), { ...o });
    parts.push(r.images);
    size = r.size;
  }
  const styleIds = await classify(join(o.evaluatorsDir, 'styles', 'model.onnx'), concatFloats(parts), size, o.batch);
  let styles = 0, dist = 0, realDist = 0;
  chosen.forEach((e, j) => {
    styles += new Set(styleIds.slice(j * SEEDS, (j + 1) * SEEDS)).size;
    dist += meanPairDistance(Array.from({ length: SEEDS }, (_, s) => parts[j].subarray(s * per, (s + 1) * per)));
    realDist += meanPairDistance(by[e].map((k) => { const x = new Float32Array(per); sampleToCHW(ds, k, x); return x; }));
  });
  const n = chosen.length;
  return { prompts: n, seeds: SEEDS, meanStyles: styles / n, meanPairDistance: dist / n, realPairDistance: realDist / n, distanceRatio: dist / realDist };
}

/**
 * The drawings behind the style-word prompts: up to `per` per style, spread evenly over that style's
 * drawings of held-out emoji, style by style; `sample` indexes ds.samples.
 */
export function styleWordRows(ds: Pick<StyledEmojiDataset, 'styles' | 'samples'>, per: number): Array<{ style: number; sample: number }> {
  const out: Array<{ style: number; sample: number }> = [];
  ds.styles.forEach((_, s) => {
    const rows = ds.samples.map((x, k) => [x, k] as const).filter(([x]) => x.style === s && heldOut(x.emoji));
    const n = Math.min(per, rows.length);
    for (let j = 0; j < n; j++) out.push({ style: s, sample: rows[Math.floor((j * rows.length) / n)][1] });
  });
  return out;
}

async function styleWordMeasure(model: OpenModel, ds: StyledEmojiDataset, o: VarietyOptions): Promise<VarietyReport['styleWords']> {
  const px = 3 * ds.size * ds.size;
  const rows = styleWordRows(ds, o.perStyle ?? 16);
  const prompts = rows.map((r) => withStyle(ds.emoji[ds.samples[r.sample].emoji].captions[0], ds.styles[r.style], 0, 0));
  const asked = rows.map((r) => r.style), real = rows.map((r) => r.sample);
  const { images, size } = await sampleInBatches(model, prompts, o, o.batch);
  const path = join(o.evaluatorsDir, 'styles', 'model.onnx');
  const got = await classify(path, images, size, o.batch);
  const realPx = new Float32Array(real.length * px);
  real.forEach((k, i) => sampleToCHW(ds, k, realPx, i * px));
  const gotReal = await classify(path, realPx, ds.size, o.batch);
  const perStyle = Object.fromEntries(ds.styles.map((st, s) => {
    const mine = asked.map((a, i) => [a, i] as const).filter(([a]) => a === s);
    return [st.id, mine.filter(([, i]) => got[i] === s).length / Math.max(1, mine.length)];
  }));
  return {
    samples: prompts.length, accuracy: got.filter((g, i) => g === asked[i]).length / got.length, perStyle,
    evaluatorOnReal: gotReal.filter((g, i) => g === asked[i]).length / gotReal.length,
  };
}

async function objectMeasure(model: OpenModel, ds: StyledEmojiDataset, o: VarietyOptions, path: string): Promise<VarietyReport['objects']> {
  const by = drawingsByEmoji(ds), px = 3 * ds.size * ds.size;
  const pool = ds.emoji.map((_, e) => e).filter((e) => objectHeldOut(by[e], e) !== undefined);
  const count = Math.min(o.objectPrompts ?? 128, pool.length);
  const chosen = Array.from({ length: count }, (_, k) => pool[Math.floor((k * pool.length) / count)]);
  const { images, size } = await sampleInBatches(model, chosen.map((e) => ds.emoji[e].captions[0]), o, o.batch);
  const got = await classify(path, images, size, o.batch);
  const share = (read: number[]) => read.filter((g, i) => g === chosen[i]).length / count;
  const onReal = async (pick: (e: number, i: number) => number) => {
    const realPx = new Float32Array(count * px);
    chosen.forEach((e, i) => sampleToCHW(ds, pick(e, i), realPx, i * px));
    return share(await classify(path, realPx, ds.size, o.batch));
  };
  const learned = (e: number, i: number) => {
    const seen = by[e].filter((k) => k !== objectHeldOut(by[e], e));
    return seen[i % seen.length];
  };
  return {
    samples: count,
    accuracy: share(got),
    evaluatorOnLearned: await onReal(learned),
    evaluatorOnUnseen: await onReal((e) => objectHeldOut(by[e], e)!),
  };
}

/** Digits, variety, style-word and object measures of a 64x64 multi-style model. */
export async function measureVariety(model: OpenModel, o: VarietyOptions): Promise<VarietyReport> {
  const ds = await loadStyledEmoji({ size: 64, cacheDir: o.dataDir });
  const objects = join(o.evaluatorsDir, 'objects', 'model.onnx');
  return {
    digits: await digitMeasure(model, o),
    variety: await varietyMeasure(model, ds, o),
    styleWords: await styleWordMeasure(model, ds, o),
    ...(existsSync(objects) ? { objects: await objectMeasure(model, ds, o, objects) } : {}),
  };
}
