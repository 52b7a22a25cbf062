import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGuidance, guidanceMode } from '../../../src/sidecar/pipelines/guidance';
import { floatToHalf, halfToFloat } from '../../../src/sidecar/pipelines/tensors';

test('classifier-free guidance: out = u + s (c - u) over [uncond, cond] halves', () => {
  const out = Float32Array.from([1, 2, /* cond */ 3, 6]);
  assert.deepEqual([...applyGuidance(out, 7.5)], [1 + 7.5 * 2, 2 + 7.5 * 4]);
  assert.deepEqual([...applyGuidance(out, 1)], [3, 6]);
  assert.deepEqual([...applyGuidance(out, 0)], [1, 2]);
  // One scale per image: rows [u1, u2 | c1, c2] with scales 2 and 3.
  assert.deepEqual([...applyGuidance(Float32Array.from([1, 1, 2, 4]), [2, 3])], [1 + 2 * 1, 1 + 3 * 3]);
  const plain = { guidanceInput: null };
  assert.equal(guidanceMode(plain, 1), 'none');
  assert.equal(guidanceMode(plain, 1.5), 'batch');
  assert.equal(guidanceMode({ guidanceInput: { type: 'float32', shape: 'batch' } }, 7.5), 'input');
});

test('float16 conversion: exact values, rounding to nearest even, overflow and subnormals', () => {
  for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24]) assert.equal(halfToFloat(floatToHalf(v)), v);
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // halfway: ties to even
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(halfToFloat(floatToHalf(1e6)), Infinity);
  assert.ok(Math.abs(halfToFloat(floatToHalf(0.1)) - 0.1) < 1e-4);
});
