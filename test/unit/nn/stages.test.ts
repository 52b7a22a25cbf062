import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Trainer } from '../../../src/sidecar/train/trainer';
import { EMOJI_BASE, type FamilyConfig } from '../../../src/sidecar/nn';
import { clipStep, unetStep, alphasCumprod, stripPrefix } from '../../../scripts/train/stages';

const cfg: FamilyConfig = { ...EMOJI_BASE, vocab: 50 };

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

test('scaled_linear alpha-bar matches Stable Diffusion\'s endpoints', () => {
  const ac = alphasCumprod();
  assert.ok(Math.abs(ac[0] - (1 - 0.00085)) < 1e-9);
  assert.ok(ac[999] > 0.004 && ac[999] < 0.006, `alpha-bar_999 = ${ac[999]}`);
});
