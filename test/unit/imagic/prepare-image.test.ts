// Input preparation for Imagic: every odd picture a user may drop on the editor becomes exactly the
// model's size in 8-bit RGB, or is refused with an error naming the file and the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageInputError, prepareImage, rgbToTensor } from '../../../src/sidecar/io/prepare-image';

const dir = join(__dirname, '..', '..', 'fixtures', 'images');
const fx = (name: string) => join(dir, name);
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

for (const [name, format] of [['alpha.png', 'png'], ['grey.png', 'png'], ['photo.webp', 'webp'], ['photo.jpg', 'jpeg'], ['tiny.png', 'png'], ['large.png', 'png']] as const) {
  test(`${name} becomes 32x32 RGB and the file is untouched`, async () => {
    const before = sha(fx(name));
    const img = await prepareImage(fx(name), 32, 32);
    assert.equal(img.rgb.length, 32 * 32 * 3);
    assert.equal(img.source.format, format);
    assert.equal(img.sourceHash, before);
    assert.equal(sha(fx(name)), before, 'the input file must not change');
  });
}

test('alpha is composited on white; the opaque disc keeps its colour', async () => {
  const img = await prepareImage(fx('alpha.png'), 32, 32);
  const at = (x: number, y: number) => Array.from(img.rgb.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3));
  assert.deepEqual(at(0, 0), [255, 255, 255]);
  const [r, g, b] = at(16, 16);
  assert.ok(r > 200 && g < 60 && b < 60, `centre should be red, got ${r},${g},${b}`);
});

test('grey input gives three equal channels', async () => {
  const img = await prepareImage(fx('grey.png'), 16, 16);
  for (let p = 0; p < 256; p++) assert.ok(img.rgb[p * 3] === img.rgb[p * 3 + 1] && img.rgb[p * 3 + 1] === img.rgb[p * 3 + 2]);
});

test('non-square input is centre-cropped (the disc stays centred), and the tensor is in [-1, 1]', async () => {
  const img = await prepareImage(fx('large.png'), 32, 32);
  const red = (x: number, y: number) => img.rgb[(y * 32 + x) * 3] > 150 && img.rgb[(y * 32 + x) * 3 + 1] < 100;
  assert.ok(red(16, 16) && red(8, 16) && red(24, 16), 'the disc should fill the centre band');
  const t = rgbToTensor(img);
  assert.equal(t.length, 3 * 32 * 32);
  assert.ok(t.every((v) => v >= -1 && v <= 1));
});

for (const [name, message] of [
  ['empty.png', /empty \(0 bytes\)/],
  ['truncated.png', /damaged or truncated/],
  ['not-an-image.png', /is not an image/],
  ['absurd-size.png', /100000x100000.*megapixels/],
  ['missing.png', /no such file/],
] as const) {
  test(`${name} is refused with a clear error naming the file`, async () => {
    await assert.rejects(prepareImage(fx(name), 32, 32), (e: unknown) => e instanceof ImageInputError && e.message.includes(name) && message.test(e.message));
  });
}

test('a folder is refused', async () => {
  await assert.rejects(prepareImage(dir, 32, 32), /is not a file/);
});
