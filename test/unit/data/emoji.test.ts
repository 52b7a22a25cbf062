import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emojiItems, loadEmojiDataset, imageToCHW, EMOJI_CATEGORIES } from '../../../src/sidecar/train/data/emoji';
import { captionsFor, objectName } from '../../../src/sidecar/train/data/captions';

test('the set keeps picturable categories only, without skin-tone variants', () => {
  const items = emojiItems();
  assert.ok(items.length > 1300 && items.length < 1500, `${items.length} items`);
  for (const it of items) assert.ok((EMOJI_CATEGORIES as readonly string[]).includes(it.category), it.category);
  assert.ok(!items.some((it) => /-1f3f[b-f]/.test(it.image)), 'no skin-tone variant images');
});

test('a swan is captioned several ways, canonical first, "a graceful swan" among them', () => {
  const swan = emojiItems().find((it) => it.object === 'swan');
  assert.ok(swan);
  assert.equal(swan.captions[0], 'a swan');
  assert.ok(swan.captions.includes('a graceful swan'));
  assert.ok(swan.captions.includes('swan'));
  assert.equal(swan.broad, 'a bird');
});

test('captions are lowercase words only, and short names like "+1" fall back to the Unicode name', () => {
  const e = { name: 'THUMBS UP SIGN', short_name: '+1', short_names: ['+1', 'thumbsup'], category: 'People & Body', subcategory: 'hand-fingers-closed', image: 'x.png' };
  assert.equal(objectName(e), 'thumbs up');
  for (const c of captionsFor(e, 0)) assert.match(c, /^[a-z0-9 ]+$/);
});

test('images are 32x32 RGB on white, cached, and map to [-1, 1] CHW', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emoji-'));
  try {
    const ds = await loadEmojiDataset(dir);
    assert.equal(ds.pixels.length, ds.items.length * 32 * 32 * 3);
    // Corners of an emoji are background: white after compositing.
    assert.deepEqual([...ds.pixels.subarray(0, 3)], [255, 255, 255]);
    const again = await loadEmojiDataset(dir);
    assert.deepEqual(again.pixels.subarray(0, 3000), ds.pixels.subarray(0, 3000));
    const chw = new Float32Array(3 * 32 * 32);
    imageToCHW(ds, 0, chw);
    assert.equal(chw[0], 1);
    assert.ok(Math.min(...chw) < 0, 'some dark pixels in the emoji');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
