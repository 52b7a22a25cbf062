import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../../src/sidecar/train/trainer';
import { readSafetensors } from '../../../src/sidecar/io/safetensors';
import { EMOJI_BASE, type FamilyConfig } from '../../../src/sidecar/nn';
import { clipStep, unetStep, decoderStep, alphasCumprod, stripPrefix } from '../../../scripts/train/stages';
import { vaeDecoderGraph } from '../../../src/sidecar/nn/vae';
import { graphWeights } from '../../../src/sidecar/nn/weights';
import { componentGraph } from '../../../src/sidecar/nn/family';

const cfg: FamilyConfig = { ...EMOJI_BASE, vocab: 50 };

/** A UNet with an outer level small enough to train a few steps in a test, and one fixed batch for it. */
const small: FamilyConfig = { ...EMOJI_BASE, vocab: 50, unetChannels: 16, unetTimeDim: 32, unetOuterChannels: 8, unetHeads: 2, textDim: 8, length: 4 };
const B = 2, spec = { steps: 20, batch: B, lr: 1e-2 };
const wave = (n: number, f: number) => new Float32Array(n).map((_, i) => Math.sin(i * f));
const batch = () => ({
  sample: new ort.Tensor('float32', wave(B * 256, 0.7), [B, 4, 8, 8]),
  timestep: new ort.Tensor('int64', BigInt64Array.of(10n, 900n), [B]),
  encoder_hidden_states: new ort.Tensor('float32', wave(B * 4 * 8, 1.3), [B, 4, 8]),
  target: new ort.Tensor('float32', wave(B * 256, 0.3), [B, 4, 8, 8]),
});

test('CLIP stage: InfoNCE falls as the encoders learn to pair 4 images with 4 captions', async () => {
  const B = 4;
  const trainer = await Trainer.create(clipStep(cfg, { steps: 40, batch: B, lr: 3e-3 }));
  const ids = new BigInt64Array(B * cfg.length);
  for (let b = 0; b < B; b++) { ids[b * cfg.length] = 2n; ids[b * cfg.length + 1] = BigInt(10 + b); ids[b * cfg.length + 2] = 3n; }
  const px = new Float32Array(B * 3 * 32 * 32);
  for (let b = 0; b < B; b++) px.fill(b / 2 - 0.75, b * 3072 + (b % 3) * 1024, b * 3072 + (b % 3 + 1) * 1024);
  const batch = { input_ids: new ort.Tensor('int64', ids, [B, cfg.length]), pixel_values: new ort.Tensor('float32', px, [B, 3, 32, 32]) };
  const losses = await trainer.fit({ steps: 40, batch: () => batch });
  assert.ok(losses[0] > 1, `chance level is ln 4 = 1.39, got ${losses[0]}`);
  assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  const text = stripPrefix(trainer.params(), 'text');
  assert.ok(text.has('tok.weight') && text.has('blocks.0.attn.q.weight'), 'text encoder weights are found by their model names');
  await trainer.dispose();
});

test('UNet stage: a v-prediction step runs and keeps an EMA', async () => {
  const B = 2;
  const trainer = await Trainer.create(unetStep(cfg, { steps: 2, batch: B, lr: 1e-3 }));
  const z = (n: number) => new Float32Array(n).map((_, i) => Math.sin(i));
  const r = await trainer.trainStep({
    sample: new ort.Tensor('float32', z(B * 256), [B, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.of(10n, 900n), [B]),
    encoder_hidden_states: new ort.Tensor('float32', z(B * 16 * 64), [B, 16, 64]),
    target: new ort.Tensor('float32', z(B * 256), [B, 4, 8, 8]),
  });
  assert.ok(Number.isFinite(r.loss));
  assert.ok(trainer.emaParams().has('conv_in.weight'));
  await trainer.dispose();
});

test('UNet stage from trained weights: every parameter and its EMA start at them (a fine-tune)', async () => {
  const from = graphWeights(componentGraph('unet', cfg, 5)); // a UNet's weights, by the names its ONNX file uses
  const trainer = await Trainer.create(unetStep(cfg, { steps: 2, batch: 2, lr: 1e-3 }, from));
  const start = trainer.params(), ema = trainer.emaParams();
  assert.deepEqual([...start.keys()].sort(), [...from.keys()].sort());
  for (const [name, v] of from) {
    assert.deepEqual(start.get(name)!.data, v.data, `${name} starts at the given weights`);
    assert.deepEqual(ema.get(name)!.data, v.data, `${name}'s EMA starts there too`);
  }
  await trainer.dispose();
});

test('scaled_linear alpha-bar matches Stable Diffusion\'s endpoints', () => {
  const ac = alphasCumprod();
  assert.ok(Math.abs(ac[0] - (1 - 0.00085)) < 1e-9);
  assert.ok(ac[999] > 0.004 && ac[999] < 0.006, `alpha-bar_999 = ${ac[999]}`);
});

test('UNet stage: the pooled-text path warm-starts from a checkpoint without it, computing what it did, then learns', async () => {
  const ckpt = join(mkdtempSync(join(tmpdir(), 'warm-')), 'unet.ckpt.safetensors');
  const before = await Trainer.create(unetStep(small, spec));
  await before.fit({ steps: 3, batch, checkpoint: ckpt });
  const next = (await before.trainStep(batch())).loss; // step 4 of the model without the path
  const oldLayout = before.spec.layout;
  await before.dispose();

  const after = await Trainer.create(unetStep({ ...small, unetPooledText: true }, spec));
  assert.throws(() => after.loadCheckpoint(ckpt), /lacks parameter pooled_text\.l1\.weight/, 'a plain resume names what is missing');
  const added = after.warmStart(ckpt);
  assert.deepEqual(added.sort(), ['pooled_text.l1.bias', 'pooled_text.l1.weight', 'pooled_text.l2.bias', 'pooled_text.l2.weight']);
  assert.equal(after.step, 3);
  const saved = readSafetensors(ckpt).tensors;
  for (const slot of ['adam_m', 'adam_v', 'ema']) {
    const was = saved.get(`state.${slot}`)!.data as Float32Array, now = after.slot(slot);
    for (const name of ['conv_in.weight', 'd0.t.bias', 'conv_out.bias']) {
      const o = oldLayout.find((l) => l.name === name)!, n = after.spec.layout.find((l) => l.name === name)!;
      assert.deepEqual(now.subarray(n.offset, n.offset + n.size), was.subarray(o.offset, o.offset + o.size), `${slot} of ${name} moved with its parameter`);
    }
  }
  const first = (await after.trainStep(batch())).loss;
  assert.ok(Math.abs(first - next) <= 1e-6 * Math.abs(next), `step 4 loss with the new path ${first}, without ${next}`);
  const ckpt2 = ckpt.replace('unet.ckpt', 'pooled.ckpt');
  await after.fit({ steps: 8, batch, checkpoint: ckpt2 });
  const l2 = after.params().get('pooled_text.l2.weight')!.data as Float32Array;
  assert.ok(l2.some((v) => v !== 0), 'the zero-initialised layer trains');
  await after.dispose();

  const plain = await Trainer.create(unetStep(small, spec));
  assert.throws(() => plain.warmStart(ckpt2), /has parameters this model lacks \(pooled_text/, 'a warm start only adds layers');
  await plain.dispose();
});

test('UNet stage: a deeper outer level (unetOuterBlocks) starts from a trained UNet computing what it did, then trains its new blocks', async () => {
  const trained = graphWeights(componentGraph('unet', small, 5));
  const shallow = await Trainer.create(unetStep(small, spec, trained));
  const was = (await shallow.trainStep(batch())).loss;
  await shallow.dispose();
  const deep = await Trainer.create(unetStep({ ...small, unetOuterBlocks: 2 }, spec, trained));
  assert.deepEqual([...deep.params().keys()].filter((n) => !trained.has(n)).map((n) => n.split('.')[0]).filter((v, i, all) => all.indexOf(v) === i).sort(), ['d0_1', 'u0_1']);
  const now = (await deep.trainStep(batch())).loss;
  assert.ok(Math.abs(now - was) <= 1e-5 * Math.abs(was), `first loss of the deeper UNet ${now}, of the trained one ${was}`);
  await deep.fit({ steps: 5, batch });
  const c2 = deep.params().get('u0_1.c2.weight')!.data as Float32Array;
  assert.ok(c2.some((v) => v !== 0), 'the new blocks train');
  await deep.dispose();
});

test('decoder stage: starts from the given decoder, trains only the decoder, and learns a fixed batch', async () => {
  const B = 2, spec = { steps: 100, batch: B, lr: 3e-3 }; // past the 50-step warm-up
  const from = graphWeights(vaeDecoderGraph(cfg, 5)); // a decoder's weights, by the names its ONNX file uses
  const trainer = await Trainer.create(decoderStep(cfg, spec, from));
  const start = trainer.params();
  assert.deepEqual([...start.keys()].sort(), [...from.keys()].sort(), 'the trainable set is the decoder, nothing else');
  for (const [name, v] of from) assert.deepEqual(start.get(name)!.data, v.data, `${name} starts at the given weights`);
  const z = new Float32Array(B * 4 * 8 * 8).map((_, i) => Math.sin(i * 0.37));
  const x = new Float32Array(B * 3 * 32 * 32).map((_, i) => (i % 97 < 40 ? 0.8 : -0.6));
  const batch = () => ({ z: new ort.Tensor('float32', z, [B, 4, 8, 8]), x: new ort.Tensor('float32', x, [B, 3, 32, 32]) });
  const losses = await trainer.fit({ steps: 100, batch });
  assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  await trainer.dispose();
});
