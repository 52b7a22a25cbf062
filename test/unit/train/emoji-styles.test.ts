import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeKey, loadIconSet, rasteriseSvg, renderIcon } from '../../../src/sidecar/train/data/iconify';
import { EMOJI_STYLES, loadStyleSets, loadStyledEmoji, matchStyles, styleCounts } from '../../../src/sidecar/train/data/emoji-styles';

const pixel = (img: Uint8Array, size: number, x: number, y: number) => [...img.subarray((y * size + x) * 3, (y * size + x) * 3 + 3)];

test('the rasteriser draws a known SVG at the requested size, transparent parts on white', async () => {
  // Left half red, right half transparent, drawn at 8x8 from a 2x2 viewBox.
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8" viewBox="0 0 2 2"><rect width="1" height="2" fill="#ff0000"/></svg>';
  const img = await rasteriseSvg(svg, 8);
  assert.equal(img.length, 8 * 8 * 3);
  for (const y of [0, 3, 7]) {
    assert.deepEqual(pixel(img, 8, 1, y), [255, 0, 0]);
    assert.deepEqual(pixel(img, 8, 6, y), [255, 255, 255]);
  }
});

test('a real icon (twemoji red heart) rasterises to a red heart on white at 64x64', async () => {
  const img = await renderIcon(loadIconSet('@iconify-json/twemoji'), 'red-heart', 64);
  assert.equal(img.length, 64 * 64 * 3);
  assert.deepEqual(pixel(img, 64, 0, 0), [255, 255, 255], 'corner is background');
  const [r, g, b] = pixel(img, 64, 32, 36);
  assert.ok(r > 180 && g < 80 && b < 90, `centre ${[r, g, b]} is not red`);
});

test('cross-set matching pairs the same code point in every style', () => {
  const sets = loadStyleSets();
  const { emoji, samples } = matchStyles(EMOJI_STYLES, sets);
  // Code-point sets: each sample's icon is exactly the one the package's chars.json gives that code point.
  for (const x of samples) {
    const style = EMOJI_STYLES[x.style];
    if (style.match === 'code point') assert.equal(x.icon, sets.get(style.id)!.chars.get(emoji[x.emoji].code));
  }
  // Name-matched sets land on the same emoji (cat face is the face, not the whole cat, in every set).
  const at = (code: string) => Object.fromEntries(samples.filter((x) => emoji[x.emoji].code === code).map((x) => [EMOJI_STYLES[x.style].id, x.icon]));
  assert.deepEqual(at(codeKey('1F431')), {
    noto: 'cat-face', 'noto-v1': 'cat-face', 'fluent-emoji': 'cat-face', 'fluent-emoji-flat': 'cat-face', twemoji: 'cat-face', emojione: 'cat-face',
  });
  assert.deepEqual(at(codeKey('2764-FE0F')), {
    noto: 'red-heart', 'noto-v1': 'red-heart', fxemoji: 'redheart', 'fluent-emoji': 'red-heart', 'fluent-emoji-flat': 'red-heart', twemoji: 'red-heart', emojione: 'red-heart',
  });
  // No style draws two emoji with one icon.
  for (let s = 0; s < EMOJI_STYLES.length; s++) {
    const icons = samples.filter((x) => x.style === s).map((x) => x.icon);
    assert.equal(new Set(icons).size, icons.length, `${EMOJI_STYLES[s].id} reuses an icon`);
  }
  const { atLeast } = styleCounts({ styles: EMOJI_STYLES, emoji, samples });
  assert.ok(atLeast[2] > 1300, `only ${atLeast[2]} emoji have >= 3 styles`);
});

test('the rasterised set is cached per style and read back identically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'styles-'));
  const styles = EMOJI_STYLES.filter((s) => s.id === 'emojione');
  const first = await loadStyledEmoji({ size: 16, cacheDir: dir, styles });
  assert.deepEqual(readdirSync(join(dir, 'styles-16')).sort(), ['emojione.json', 'emojione.u8']);
  let fromCache = false;
  const again = await loadStyledEmoji({ size: 16, cacheDir: dir, styles, onStyle: (_, __, c) => { fromCache = c; } });
  assert.ok(fromCache);
  assert.equal(again.pixels.length, first.samples.length * 16 * 16 * 3);
  assert.deepEqual(again.pixels, first.pixels);
});
