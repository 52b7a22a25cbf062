// The committed evaluators (models/evaluators/, trained by `npm run train:evaluators`) load in ONNX
// Runtime and classify held-out samples they never trained on: digits from the MNIST held-out split,
// emoji styles on held-out emoji (list index 9 mod 10), objects from the drawing of each emoji held out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { HELD_OUT_PER_DIGIT, rawDigits, renderDigit } from '../../../src/sidecar/train/data/mnist';
import { EMOJI_STYLES, drawingsByEmoji, loadStyleSets, matchStyles, objectHeldOut } from '../../../src/sidecar/train/data/emoji-styles';
import { renderIcon } from '../../../src/sidecar/train/data/iconify';

const DIR = 'models/evaluators';

function toInput(images: Uint8Array[], size: number): ort.Tensor {
  const hw = size * size, x = new Float32Array(images.length * 3 * hw);
  images.forEach((img, b) => { for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) x[b * 3 * hw + c * hw + p] = img[p * 3 + c] / 127.5 - 1; });
  return new ort.Tensor('float32', x, [images.length, 3, size, size]);
}

async function classify(name: string, images: Uint8Array[], maxMB = 1): Promise<{ predicted: number[]; classes: string[] }> {
  const file = `${DIR}/${name}/model.onnx`;
  assert.ok(statSync(file).size < maxMB * 1024 * 1024, `${file} is over ${maxMB} MB`);
  const config = JSON.parse(readFileSync(`${DIR}/${name}/config.json`, 'utf8')) as { classes: string[]; input: { shape: [string, number, number, number] } };
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ pixel_values: toInput(images, config.input.shape[2]) });
  await session.release();
  const k = config.classes.length, logits = out.logits.data as Float32Array, probs = out.probabilities.data as Float32Array;
  assert.ok(Math.abs(probs.slice(0, k).reduce((a, b) => a + b, 0) - 1) < 1e-4, 'probabilities sum to 1');
  const predicted = images.map((_, b) => { let best = 0; for (let c = 1; c < k; c++) if (logits[b * k + c] > logits[b * k + best]) best = c; return best; });
  return { predicted, classes: config.classes };
}

test('the digit evaluator reads held-out handwritten digits', async () => {
  const raw = rawDigits();
  const images: Uint8Array[] = [], labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const n = raw[d].length / 784;
    for (const j of [n - HELD_OUT_PER_DIGIT, n - 100, n - 1]) { // held-out samples (the last 200 of each digit)
      images.push(await renderDigit(raw[d].slice(j * 784, (j + 1) * 784), 64));
      labels.push(d);
    }
  }
  const { predicted, classes } = await classify('digits', images);
  assert.deepEqual(classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const right = predicted.filter((p, i) => p === labels[i]).length;
  assert.ok(right >= 28, `${right}/30 held-out digits right: ${predicted.join('')}`);
});

test('the style evaluator names the set that drew held-out emoji', async () => {
  const sets = loadStyleSets();
  const { emoji, samples } = matchStyles(EMOJI_STYLES, sets);
  // Held-out emoji drawn by all seven sets: the classifier never saw these objects.
  const all7 = emoji.map((_, i) => i).filter((i) => i % 10 === 9 && samples.filter((x) => x.emoji === i).length === EMOJI_STYLES.length);
  const held = Array.from({ length: 10 }, (_, j) => all7[Math.floor((j * all7.length) / 10)]); // spread over the list: faces, animals, food, objects
  const picks = samples.filter((x) => held.includes(x.emoji));
  const images = await Promise.all(picks.map((x) => renderIcon(sets.get(EMOJI_STYLES[x.style].id)!, x.icon, 64)));
  const { predicted, classes } = await classify('styles', images);
  assert.deepEqual(classes, EMOJI_STYLES.map((s) => s.id));
  const right = predicted.filter((p, i) => p === picks[i].style).length;
  assert.ok(right >= 0.75 * picks.length, `${right}/${picks.length} styles right`); // 85.8% on all 802 held-out drawings
});

test('the object evaluator names the emoji of drawings it learned, and of a style of it never seen', async () => {
  const sets = loadStyleSets();
  const { emoji, samples } = matchStyles(EMOJI_STYLES, sets);
  const by = drawingsByEmoji({ emoji, samples });
  const pool = emoji.map((_, e) => e).filter((e) => objectHeldOut(by[e], e) !== undefined);
  const picks = Array.from({ length: 60 }, (_, j) => pool[Math.floor((j * pool.length) / 60)]); // spread over the list
  const draw = (k: number) => renderIcon(sets.get(EMOJI_STYLES[samples[k].style].id)!, samples[k].icon, 64);
  const unseen = await Promise.all(picks.map((e) => draw(objectHeldOut(by[e], e)!)));
  const learned = await Promise.all(picks.map((e, j) => draw(by[e].filter((k) => k !== objectHeldOut(by[e], e))[j % (by[e].length - 1)])));
  const { predicted, classes } = await classify('objects', [...learned, ...unseen], 4);
  assert.deepEqual(classes, emoji.map((e) => e.code));
  const right = (from: number) => predicted.slice(from, from + picks.length).filter((p, i) => p === picks[i]).length;
  // One emoji in 1,412, near-twins included ("sound" and "loud sound"); chance 0.07%. On all drawings:
  // 91.8% of the learned ones, 39.9% of the held-out ones.
  assert.ok(right(0) >= 0.8 * picks.length, `${right(0)}/${picks.length} learned drawings right`);
  assert.ok(right(picks.length) >= 0.25 * picks.length, `${right(picks.length)}/${picks.length} unseen drawings right`);
});
