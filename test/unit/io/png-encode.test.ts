/**
 * encodePng, the one PNG writer (sharpToPng feeds it what sharp made): what it writes decodes to the same
 * pixels (sharp, zlib with its checksum), small and large, RGB and RGBA, and its parameters chunk sits
 * right after IHDR where sharp reports it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { encodePng, sharpToPng } from '../../../src/sidecar/io/images';
import { readTextChunks } from '../../../src/sidecar/io/png-metadata';

const chunkTypes = (png: Buffer) => {
  const types: string[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) types.push(png.toString('latin1', at + 4, at + 8));
  return types;
};

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
    assert.deepEqual(chunkTypes(png), ['IHDR', 'tEXt', 'IDAT', 'IEND']);
    assert.deepEqual((await sharp(png).metadata()).comments, [{ keyword: 'parameters', text: 'a red apple\nSteps: 4, Seed: 1' }]);
  });
}

test('RGBA round-trips through sharp, alpha included', async () => {
  const rgba = new Uint8Array(20 * 10 * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 31 + 7) & 255;
  const png = encodePng(rgba, 20, 10, {}, 4);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [20, 10, 4]);
  assert.ok(Buffer.from(rgba).equals(data), 'pixels differ after decoding');
  assert.throws(() => encodePng(rgba, 20, 10), /encodePng: 800 bytes for 20x10x3/);
});

test('sharpToPng: what sharp composited, RGB when opaque, RGBA when not, with its parameters', async () => {
  const tile = new Uint8Array(4 * 4 * 3).map((_, i) => (i * 13) & 255);
  const sheet = () => sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([{ input: Buffer.from(tile), raw: { width: 4, height: 4, channels: 3 }, left: 2, top: 1 }]);
  const expected = await sheet().removeAlpha().raw().toBuffer();
  const png = await sharpToPng(sheet(), { parameters: 'a sheet' });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, 'an opaque alpha channel is dropped');
  assert.ok(expected.equals(data), 'pixels differ after decoding');
  assert.deepEqual((await sharp(png).metadata()).comments, [{ keyword: 'parameters', text: 'a sheet' }]);
  assert.deepEqual(chunkTypes(png).slice(0, 2), ['IHDR', 'tEXt']);

  const translucent = sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } });
  const clear = await sharpToPng(translucent.clone());
  const back = await sharp(clear).raw().toBuffer({ resolveWithObject: true });
  assert.equal(back.info.channels, 4);
  assert.ok((await translucent.clone().raw().toBuffer()).equals(back.data));
});
