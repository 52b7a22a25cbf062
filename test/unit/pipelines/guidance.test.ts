import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGuidance, usesGuidanceBatch } from '../../../src/sidecar/pipelines/guidance';
import { floatToHalf, halfToFloat } from '../../../src/sidecar/pipelines/tensors';

test('classifier-free guidance: out = u + s (c - u) over [uncond, cond] halves', () => {
  const out = Float32Array.from([1, 2, /* cond */ 3, 6]);
  assert.deepEqual([...applyGuidance(out, 7.5)], [1 + 7.5 * 2, 2 + 7.5 * 4]);
  assert.deepEqual([...applyGuidance(out, 1)], [3, 6]);
  assert.deepEqual([...applyGuidance(out, 0)], [1, 2]);
  assert.equal(usesGuidanceBatch(1), false);
  assert.equal(usesGuidanceBatch(1.5), true);
});

test('float16 conversion: exact values, rounding to nearest even, overflow and subnormals', () => {
  for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24]) assert.equal(halfToFloat(floatToHalf(v)), v);
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // halfway: ties to even
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(halfToFloat(floatToHalf(1e6)), Infinity);
  assert.ok(Math.abs(halfToFloat(floatToHalf(0.1)) - 0.1) < 1e-4);
});
