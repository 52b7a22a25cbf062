import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession } from '../../../src/sidecar/graph';
import { EMOJI_BASE, EMOJI_STYLES_64, type FamilyConfig } from '../../../src/sidecar/nn';
import { componentGraph, writeFamilyFolder, COMPONENTS, type FamilyWeights } from '../../../src/sidecar/nn/family';
import { applyWeights, graphWeights, parameterCount, readOnnxWeights } from '../../../src/sidecar/nn/weights';
import { buildTokenizer } from '../../../src/sidecar/train/data/tokenizer';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { openModel } from '../../../src/sidecar/pipelines/model-sessions';
import { sampleImages } from '../../../src/sidecar/pipelines/eval/sample';

const cfg: FamilyConfig = { ...EMOJI_BASE, vocab: 100 };

test('each component has Stable Diffusion\'s tensor names and shapes', async () => {
  const te = await createSession(componentGraph('text_encoder', cfg));
  const out = await te.run({ input_ids: new ort.Tensor('int64', new BigInt64Array(2 * 16).fill(5n), [2, 16]) });
  assert.deepEqual(out.last_hidden_state.dims, [2, 16, cfg.textDim]);
  assert.deepEqual(out.text_embeds.dims, [2, cfg.embedDim]);
  const unet = await createSession(componentGraph('unet', cfg));
  const u = await unet.run({
    sample: new ort.Tensor('float32', new Float32Array(2 * 256), [2, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.of(1n, 999n), [2]),
    encoder_hidden_states: new ort.Tensor('float32', new Float32Array(2 * 16 * cfg.textDim), [2, 16, cfg.textDim]),
  });
  assert.deepEqual(u.out_sample.dims, [2, 4, 8, 8]);
  const dec = await createSession(componentGraph('vae_decoder', cfg));
  assert.deepEqual((await dec.run({ latent_sample: new ort.Tensor('float32', new Float32Array(256), [1, 4, 8, 8]) })).sample.dims, [1, 3, 32, 32]);
  const enc = await createSession(componentGraph('vae_encoder', cfg));
  assert.deepEqual((await enc.run({ sample: new ort.Tensor('float32', new Float32Array(3072), [1, 3, 32, 32]) })).latent_sample.dims, [1, 4, 8, 8]);
  const ie = await createSession(componentGraph('image_encoder', cfg));
  assert.deepEqual((await ie.run({ pixel_values: new ort.Tensor('float32', new Float32Array(3072), [1, 3, 32, 32]) })).image_embeds.dims, [1, cfg.embedDim]);
});

test('the whole family stays under the 10 MB budget (ONNX + safetensors, fp32)', () => {
  const full = { ...EMOJI_BASE, vocab: 1600 };
  const params = COMPONENTS.reduce((a, c) => a + parameterCount(componentGraph(c, full)), 0);
  assert.ok(params * 4 * 2 < 10.5e6, `${params} parameters = ${(params * 8 / 1e6).toFixed(1)} MB`);
  assert.ok(parameterCount(componentGraph('unet', full)) < 1e6, 'UNet under 1M parameters');
});

test('a written folder opens in the generation pipeline and samples seeded images', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'family-'));
  try {
    const weights = Object.fromEntries(COMPONENTS.map((c) => [c, graphWeights(componentGraph(c, cfg, 5))])) as FamilyWeights;
    writeFamilyFolder({
      dir, cfg, weights, scalingFactor: 1.5, tokenizer: buildTokenizer(['a swan', 'a cat']),
      defaults: { steps: 4, guidance_scale: 3, scheduler: 'ddim' }, card: '# test\n', safetensors: true,
    });
    for (const c of COMPONENTS) assert.ok(statSync(join(dir, c, 'model.onnx')).size > 1000 && statSync(join(dir, c, 'model.safetensors')).size > 1000);
    assert.deepEqual(readdirSync(join(dir, 'tokenizer')).sort(), ['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    const sched = JSON.parse(readFileSync(join(dir, 'scheduler', 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(sched.prediction_type, 'v_prediction');
    const folder = loadModelFolder(dir);
    assert.equal(folder.scalingFactor, 1.5);
    assert.equal(folder.vaeScaleFactor, 4);
    const model = await openModel(folder, {});
    const opts = { steps: 3, guidance: 3, scheduler: 'ddim' as const, seed: 11 };
    const a = await sampleImages(model, ['a swan', 'a cat'], opts);
    const b = await sampleImages(model, ['a swan'], opts);
    assert.equal(a.size, 32);
    assert.equal(a.images.length, 2 * 3 * 32 * 32);
    // Image k depends on its own seed only: the first image is the same alone or in a batch.
    assert.deepEqual(b.images, a.images.subarray(0, 3 * 32 * 32));
    // The weights read back from the written ONNX file fit a fresh graph of the component (to fine-tune it).
    const back = readOnnxWeights(join(dir, 'unet', 'model.onnx'));
    const fresh = componentGraph('unet', cfg, 9);
    applyWeights(fresh, back, 'unet');
    for (const [name, w] of weights.unet) assert.deepEqual(graphWeights(fresh).get(name)?.data, w.data, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the 64x64 family: a VAE into 16x16x4 latents, a UNet with an outer 16x16 level, a folder the generation pipeline reads as such', async () => {
  const big: FamilyConfig = { ...EMOJI_STYLES_64, vocab: 100 };
  const dir = mkdtempSync(join(tmpdir(), 'family64-'));
  try {
    const weights = Object.fromEntries(COMPONENTS.map((c) => [c, graphWeights(componentGraph(c, big, 5))])) as FamilyWeights;
    writeFamilyFolder({
      dir, cfg: big, weights, scalingFactor: 2, tokenizer: buildTokenizer(['a swan', 'a cat']),
      defaults: { steps: 2, guidance_scale: 3, scheduler: 'ddim' }, card: '# test\n',
    });
    // ONNX only by default: the 40 MB budget of models/ holds the family and its students without safetensors copies.
    const bytes = COMPONENTS.reduce((a, c) => a + statSync(join(dir, c, 'model.onnx')).size, 0);
    assert.ok(bytes < 20e6, `family ONNX ${(bytes / 1e6).toFixed(1)} MB`);
    assert.ok(COMPONENTS.every((c) => !existsSync(join(dir, c, 'model.safetensors'))));
    const folder = loadModelFolder(dir);
    assert.equal(folder.vaeScaleFactor, 4, 'block_out_channels must tell readers the 4x factor');
    const model = await openModel(folder, {});
    assert.equal(model.unetSig.latentChannels, 4);
    const enc = await createSession(componentGraph('vae_encoder', big));
    const lat = await enc.run({ sample: new ort.Tensor('float32', new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64]) });
    assert.deepEqual(lat.latent_sample.dims, [2, 4, 16, 16]);
    const out = await sampleImages(model, ['a swan'], { steps: 2, guidance: 3, scheduler: 'ddim' as const, seed: 3 });
    assert.equal(out.size, 64);
    assert.equal(out.images.length, 3 * 64 * 64);
    assert.ok(out.images.every(Number.isFinite));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
