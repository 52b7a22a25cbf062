// The 64x64 family's own training set as distillation data: each drawing described by its emoji's
// plain captions and by its own style's phrases (never another style's), plus training-split digits
// under their captions (one row in eight, as the teacher trained), encoded by the model's VAE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { stylesData } from '../../../src/sidecar/pipelines/distill/data';
import { EMOJI_STYLES } from '../../../src/sidecar/train/data/emoji-styles';
import { styleOfCaption } from '../../../src/sidecar/train/data/style-captions';
import { loadMnist } from '../../../src/sidecar/train/data/mnist';
import { imageToCHW } from '../../../src/sidecar/train/data/emoji';
import * as ort from 'onnxruntime-node';
import { getSession } from '../../../src/sidecar/runtime/sessions';

test('styles data: plain and styled captions per drawing, the style its own, latents from the VAE encoder', { timeout: 300_000 }, async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'styles-data-'));
  try {
    const styles = EMOJI_STYLES.filter((s) => s.id === 'fxemoji' || s.id === 'emojione');
    const folder = loadModelFolder(join(__dirname, '..', '..', 'fixtures', 'tiny-sd'));
    const d = await stylesData(folder, { size: 16, styles, cacheDir, limit: 40 });
    // 40 drawings and round(40 / 7) = 6 digits: one row in eight
    assert.equal(d.captions.length, 46);
    assert.deepEqual(d.rows, { drawings: 40, digits: 6 }, 'the sources counted, for distill.json');
    assert.equal(d.latents.length, 46 * d.latentShape.reduce((a, b) => a * b, 1));
    assert.deepEqual(d.latentShape.slice(1), [16 / folder.vaeScaleFactor!, 16 / folder.vaeScaleFactor!], 'latents of the 16x16 drawings');
    assert.ok(d.latents.some((v) => v !== 0) && d.latents.every(Number.isFinite));
    assert.equal(d.embeddings.length, d.prompts.length * d.contextShape[0] * d.contextShape[1]);
    assert.equal(new Set(d.prompts).size, d.prompts.length, 'each prompt encoded once');
    const seen = new Set<string>();
    const digitRows = d.captions.slice(40).map((ids) => ids.map((i) => d.prompts[i]));
    const shown = digitRows.map((caps) => Number(/^a handwritten number (\d)$/.exec(caps[0])?.[1]));
    assert.deepEqual(shown, [...shown].sort(), 'digits in split order');
    assert.ok(new Set(shown).size >= 5 && shown.every((x) => x >= 0 && x <= 9), `digits spread over the split: ${shown.join(' ')}`);
    for (const caps of digitRows) assert.equal(caps.length, 8, "a digit's eight captions");
    // each digit row is the VAE's latent of a training digit of the class its captions name
    const mnist = await loadMnist({ size: 16, cacheDir });
    const enc = await getSession(folder.files.vaeEncoder!);
    const per = d.latentShape.reduce((a, b) => a * b, 1), train = new Set(mnist.train);
    for (let k = 0; k < 6; k++) {
      const row = d.latents.subarray((40 + k) * per, (41 + k) * per);
      const candidates = mnist.train.filter((i) => mnist.labels[i] === shown[k]).slice(0, 2000);
      let found = -1;
      for (let j = 0; j < candidates.length && found < 0; j += 64) {
        const batch = candidates.slice(j, j + 64);
        const px = new Float32Array(batch.length * 3 * 256);
        batch.forEach((i, b) => imageToCHW(mnist, i, px, b * 3 * 256));
        const lat = (await enc.run({ sample: new ort.Tensor('float32', px, [batch.length, 3, 16, 16]) })).latent_sample.data as Float32Array;
        for (let b = 0; b < batch.length && found < 0; b++) {
          if (row.every((v, q) => Math.abs(v - lat[b * per + q] * folder.scalingFactor) < 1e-5)) found = batch[b];
        }
      }
      assert.ok(found >= 0 && train.has(found), `digit row ${k} is a training digit ${shown[k]}`);
    }
    await enc.release();
    for (const ids of d.captions.slice(0, 40)) {
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
