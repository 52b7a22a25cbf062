/** encodePng: what it writes decodes to the same pixels (sharp, zlib with its checksum), small and large. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { encodePng } from '../../../src/sidecar/io/images';
import { readTextChunks } from '../../../src/sidecar/io/png-metadata';

function idat(png: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const n = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') parts.push(png.subarray(at + 8, at + 8 + n));
    at += 12 + n;
  }
  return Buffer.concat(parts);
}

for (const side of [32, 64, 100]) {
  test(`a ${side}x${side} image round-trips through sharp and zlib, with its parameters`, async () => {
    const rgb = new Uint8Array(side * side * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7919 + (i >> 5)) & 255;
    const png = encodePng(rgb, side, side, { parameters: 'a red apple\nSteps: 4, Seed: 1' });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [side, side, 3]);
    assert.ok(Buffer.from(rgb).equals(data), 'pixels differ after decoding');
    assert.equal(inflateSync(idat(png)).length, (side * 3 + 1) * side, 'zlib stream (and its Adler-32) invalid');
    assert.equal(readTextChunks(png).parameters, 'a red apple\nSteps: 4, Seed: 1');
  });
}
