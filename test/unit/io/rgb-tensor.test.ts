/**
 * rgbToCHW and tensorToRgb, the two conversions between 8-bit interleaved pixels and the VAE's planar
 * [-1, 1] floats: an RGBA file's alpha is skipped, a batch is written at its offset, and a round trip
 * (with values past [-1, 1] clamped, not wrapped) gives the bytes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rgbToCHW, tensorToRgb } from '../../../src/sidecar/io/images';

test('rgbToCHW: RGBA pixels become three planes in [-1, 1], the alpha skipped', () => {
  // Two pixels: opaque red, half-transparent mid grey.
  const rgba = Uint8Array.from([255, 0, 0, 255, 127, 128, 0, 100]);
  const chw = rgbToCHW(rgba, 2, 4);
  assert.equal(chw.length, 6);
  const expected = [1, 127 / 127.5 - 1, -1, 128 / 127.5 - 1, -1, -1]; // R plane, G plane, B plane
  chw.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `value ${i}: ${v} vs ${expected[i]}`));
});

test('rgbToCHW writes image k of a batch at its offset and leaves the rest alone', () => {
  const out = new Float32Array(12).fill(7);
  rgbToCHW(Uint8Array.from([0, 255, 0, 255, 0, 255]), 2, 3, out, 6);
  assert.deepEqual([...out.subarray(0, 6)], [7, 7, 7, 7, 7, 7]);
  assert.deepEqual([...out.subarray(6)], [-1, 1, 1, -1, -1, 1]);
});

test('tensorToRgb(rgbToCHW(x)) is x, and values past [-1, 1] clamp to 0 and 255', () => {
  const rgb = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 37) % 256);
  assert.deepEqual(tensorToRgb(rgbToCHW(rgb, 16), 0, 4, 4), rgb);
  const over = Float32Array.from([-1.3, 1.2, 0]);
  assert.deepEqual([...tensorToRgb(over, 0, 1, 1)], [0, 255, 128]);
});
