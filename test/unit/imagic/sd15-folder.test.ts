/**
 * A Stable Diffusion 1.5-layout folder from the project's builders (nn/sd15/folder.ts), at the small
 * size CI can afford: its components have SD's interfaces (int32 ids -> [B, 77, D] context, an f = 8 VAE
 * with 4 latent channels), and a whole Imagic edit runs on it (the full-size run of the same code is
 * test/large/sd15-full.test.ts). The text encoder is causal, as CLIP's is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { createSession, toOnnx } from '../../../src/sidecar/graph';
import { writeSd15Folder } from '../../../src/sidecar/nn/sd15/folder';
import { buildSd15TextEncoder, SD15_TEXT } from '../../../src/sidecar/nn/sd15/text-encoder';
import { runImagic } from '../../../src/sidecar/pipelines/imagic/imagic';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';

const tmp = mkdtempSync(join(tmpdir(), 'sd15-folder-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('the SD text encoder is causal: a token changes the context at its position and after, never before', async () => {
  const cfg = { ...SD15_TEXT, vocab: 100, width: 32, layers: 2, heads: 4, mlp: 64, length: 8 };
  const s = await createSession(toOnnx(buildSd15TextEncoder(cfg)));
  const run = async (ids: number[]) => (await s.run({ input_ids: new ort.Tensor('int32', Int32Array.from(ids), [1, 8]) })).last_hidden_state.data as Float32Array;
  const a = await run([1, 2, 3, 4, 5, 6, 7, 8]);
  const b = await run([1, 2, 3, 4, 99, 6, 7, 8]);
  const differs = (pos: number) => a.subarray(pos * 32, (pos + 1) * 32).some((x, i) => x !== b[pos * 32 + i]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(differs), [false, false, false, false, true, true, true, true]);
});

test('a small SD 1.5-layout folder loads with SD\'s interfaces and a whole Imagic edit (LoRA) runs on it', async () => {
  const dir = join(tmp, 'sd15-small');
  writeSd15Folder(dir, { size: 'small', latentSize: 8, tokenizerDir: 'test/fixtures/tiny-sd/tokenizer' });
  const folder = loadModelFolder(dir);
  assert.equal(folder.vaeScaleFactor, 8);
  const r = await runImagic({
    model: dir, image: 'test/fixtures/images/photo.jpg', prompt: 'a dog', embeddingSteps: 2, finetuneSteps: 2, steps: 2,
    etas: [0, 1], out: join(tmp, 'out'), cache: false, tune: 'lora',
  });
  assert.equal(r.files.length, 2);
  for (const f of r.files) {
    assert.ok(existsSync(f));
    const m = await sharp(f).metadata();
    assert.deepEqual([m.width, m.height], [64, 64], 'latents 8x8 -> 64x64 pixels');
  }
  assert.equal(r.train.tune, 'lora');
  assert.equal(r.train.finetuneLoss.length, 2);
});
