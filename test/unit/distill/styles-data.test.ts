// The 64x64 family's own training set as distillation data: each drawing described by its emoji's
// plain captions and by its own style's phrases (never another style's), encoded by the model's VAE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { stylesData } from '../../../src/sidecar/pipelines/distill/data';
import { EMOJI_STYLES } from '../../../src/sidecar/train/data/emoji-styles';
import { styleOfCaption } from '../../../src/sidecar/train/data/style-captions';

test('styles data: plain and styled captions per drawing, the style its own, latents from the VAE encoder', { timeout: 300_000 }, async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'styles-data-'));
  try {
    const styles = EMOJI_STYLES.filter((s) => s.id === 'fxemoji' || s.id === 'emojione');
    const folder = loadModelFolder(join(__dirname, '..', '..', 'fixtures', 'tiny-sd'));
    const d = await stylesData(folder, { size: 16, styles, cacheDir, limit: 40 });
    assert.equal(d.captions.length, 40);
    assert.equal(d.latents.length, 40 * d.latentShape.reduce((a, b) => a * b, 1));
    assert.deepEqual(d.latentShape.slice(1), [16 / folder.vaeScaleFactor!, 16 / folder.vaeScaleFactor!], 'latents of the 16x16 drawings');
    assert.ok(d.latents.some((v) => v !== 0) && d.latents.every(Number.isFinite));
    assert.equal(d.embeddings.length, d.prompts.length * d.contextShape[0] * d.contextShape[1]);
    assert.equal(new Set(d.prompts).size, d.prompts.length, 'each prompt encoded once');
    const seen = new Set<string>();
    for (const ids of d.captions) {
      const said = ids.map((i) => styleOfCaption(d.prompts[i], EMOJI_STYLES)?.id);
      const plain = said.filter((x) => x === undefined).length;
      const named = [...new Set(said.filter((x) => x !== undefined))];
      assert.ok(plain >= 1, 'a plain caption (samples across styles)');
      assert.equal(named.length, 1, `one style per drawing, got ${named.join(', ')}`);
      assert.equal(said.length - plain, 2, "the style's two words");
      seen.add(named[0]!);
    }
    assert.deepEqual([...seen].sort(), ['emojione', 'fxemoji'], 'drawings of both sets, spread over the set');
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
