/**
 * `npx tsx scripts/probe-style-nearest.ts [--model models/emoji-styles] [--per-style 16] [--guidance 3]`
 *
 * A second reading of "does the style word select the style" (issue 13; docs/MODELS.md), one that does
 * not depend on the style evaluator's eye for outlines and flat fills: each sample of "<object>, <word>
 * style" (eval's 112 style-word prompts, the same seeds) is compared with every real drawing of that
 * emoji, 4x4-average-pooled to 16x16 (layout and colours, not line work); the style of the nearest
 * drawing is the sample's style. Printed beside it: the same reading for the plain caption with the
 * same seeds (how often the nearest drawing is in the asked style when no style is asked), and the
 * style evaluator's reading of the styled samples.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModel, modelRoots } from '../src/sidecar/io/model-discovery';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { sampleInBatches } from '../src/sidecar/pipelines/eval/sample';
import { classify, styleWordRows } from '../src/sidecar/pipelines/eval/variety';
import { drawingsByEmoji, loadStyledEmoji, sampleToCHW } from '../src/sidecar/train/data/emoji-styles';
import { withStyle } from '../src/sidecar/train/data/style-captions';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/emoji-styles' },
    'per-style': { type: 'string', default: '16' },
    guidance: { type: 'string', default: '3' },
    steps: { type: 'string', default: '20' },
  },
});
const S = 64, P = 16, PX = 3 * S * S;

/** 4x4 average pooling of one CHW image: [3, 16, 16]. */
function pool(img: Float32Array): Float32Array {
  const out = new Float32Array(3 * P * P), f = S / P;
  for (let c = 0; c < 3; c++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[c * P * P + Math.floor(y / f) * P + Math.floor(x / f)] += img[c * S * S + y * S + x] / (f * f);
  return out;
}

const dist = (u: Float32Array, v: Float32Array) => u.reduce((s, x, i) => s + (x - v[i]) ** 2, 0);

async function main(): Promise<void> {
  const folder = resolveModel(a.model!, modelRoots([]));
  const model = await openModel(folder, {});
  const ds = await loadStyledEmoji({ size: S });
  const by = drawingsByEmoji(ds), per = Number(a['per-style']);
  const rows = styleWordRows(ds, per);
  const emoji = rows.map((r) => ds.samples[r.sample].emoji), asked = rows.map((r) => r.style);
  const plain = emoji.map((e) => ds.emoji[e].captions[0]);
  const styled = rows.map((r, i) => withStyle(plain[i], ds.styles[r.style], 0, 0));
  // Each prompted emoji's drawings, pooled once (the styled and plain samples are both read against them).
  const pooled = new Map(emoji.map((e) => [e, by[e].map((k) => {
    const img = new Float32Array(PX);
    sampleToCHW(ds, k, img);
    return { style: ds.samples[k].style, p: pool(img) };
  })] as const));
  const o = { steps: Number(a.steps), guidance: Number(a.guidance), scheduler: 'ddim' as const, seed: 0 };
  const nearestStyle = (images: Float32Array) => emoji.map((e, i) => {
    const p = pool(images.subarray(i * PX, (i + 1) * PX));
    let best = -1, bestD = Infinity;
    for (const d of pooled.get(e)!) {
      const dd = dist(p, d.p);
      if (dd < bestD) { bestD = dd; best = d.style; }
    }
    return best;
  });
  const share = (read: number[]) => read.filter((g, i) => g === asked[i]).length / read.length;
  const withWord = (await sampleInBatches(model, styled, o, 16)).images;
  const without = (await sampleInBatches(model, plain, o, 16)).images;
  const read = await classify(join('models', 'evaluators', 'styles', 'model.onnx'), withWord, S, 16);
  const chance = emoji.reduce((s, e) => s + 1 / new Set(by[e].map((k) => ds.samples[k].style)).size, 0) / emoji.length;
  console.log(`${folder.dir}: ${styled.length} prompts, guidance ${o.guidance}, ${o.steps} DDIM steps`);
  console.log(`nearest real drawing (16x16) in the asked style: with the word ${(100 * share(nearestStyle(withWord))).toFixed(1)}%, plain caption ${(100 * share(nearestStyle(without))).toFixed(1)}% (chance ${(100 * chance).toFixed(1)}%)`);
  console.log(`style evaluator, with the word: ${(100 * share(read)).toFixed(1)}%`);
}

main().catch((err) => { console.error(err); process.exit(1); });
