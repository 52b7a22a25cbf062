import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HELD_OUT_PER_DIGIT, digitCaptions, mnistSplit, renderDigit } from '../../../src/sidecar/train/data/mnist';

/** Labels in package order, read the way loadMnist reads them. */
function packageLabels(): Uint8Array {
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const counts = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')).data as number[]).length / 784);
  return Uint8Array.from(counts.flatMap((n, d) => new Array<number>(n).fill(d)));
}

test('the MNIST split is disjoint, covers every sample, holds out 200 per digit, and is fixed', () => {
  const labels = packageLabels();
  assert.equal(labels.length, 10000);
  const { train, heldOut } = mnistSplit(labels);
  assert.equal(train.length, 8000);
  assert.equal(heldOut.length, 10 * HELD_OUT_PER_DIGIT);
  const held = new Set(heldOut);
  assert.ok(train.every((i) => !held.has(i)), 'train and held-out overlap');
  assert.equal(new Set([...train, ...heldOut]).size, labels.length);
  for (let d = 0; d < 10; d++) assert.equal(heldOut.filter((i) => labels[i] === d).length, HELD_OUT_PER_DIGIT);
  // Fixed: the last 200 zeros of the package's 1,001 are held out, so sample 801 is the first held-out one.
  assert.deepEqual(heldOut.slice(0, 3), [801, 802, 803]);
  assert.deepEqual(mnistSplit(labels), { train, heldOut });
});

test('a digit is drawn as dark ink on white at the training size, RGB', async () => {
  const raw = new Float32Array(784);
  for (let y = 4; y < 24; y++) raw[y * 28 + 13] = raw[y * 28 + 14] = 1; // a vertical stroke, 2 px wide: a "1"
  const img = await renderDigit(raw, 64);
  assert.equal(img.length, 64 * 64 * 3);
  const at = (x: number, y: number) => [...img.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
  assert.deepEqual(at(2, 2), [255, 255, 255]);
  const ink = at(32, 32); // 28 -> 64: columns 13-14 cover x = 29.7..34.3
  assert.ok(ink[0] < 40 && ink[0] === ink[1] && ink[1] === ink[2], `stroke pixel ${ink}`);
});

test('digit captions name the digit, the first is "a handwritten number N"', () => {
  assert.equal(digitCaptions(7)[0], 'a handwritten number 7');
  assert.ok(digitCaptions(7).every((c) => /\b(7|seven)\b/.test(c)));
});
