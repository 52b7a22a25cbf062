// Optimisers, schedules, clipping and EMA as graph pieces, checked against the papers' update rules
// written out in plain JS. The loss L = mean((p - target)^2) has the known gradient 2 (p - target) / n.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, init, createSession, toOnnx } from '../../../src/sidecar/graph';
import { mseLoss } from '../../../src/sidecar/train/losses';
import { buildTrainStep } from '../../../src/sidecar/train/train-step';
import type { Optimizer, Schedule } from '../../../src/sidecar/train/optim';

const P0 = [0.5, -1, 2, 0.25], TARGET = [1, 1, 1, 1];

async function oneStep(opt: Optimizer, o: { clipNorm?: number; emaDecay?: number; step?: number } = {}) {
  const g = new Graph();
  const p = g.param('p', [4], init.values(Float32Array.from(P0)));
  const target = g.input('target', 'float32', [4]);
  const ts = buildTrainStep(g, { loss: mseLoss(g, p, target), optimizer: opt, clipNorm: o.clipNorm, emaDecay: o.emaDecay });
  const s = await createSession(toOnnx(ts.graph));
  const feeds: Record<string, ort.Tensor> = { target: new ort.Tensor('float32', Float32Array.from(TARGET), [4]), step: new ort.Tensor('float32', Float32Array.of(o.step ?? 1), []) };
  for (const st of ts.state) feeds[st.input] = new ort.Tensor('float32', st.init, [st.init.length]);
  return s.run(feeds);
}
const grad = P0.map((p, i) => (2 * (p - TARGET[i])) / 4);
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) < tol, `[${i}] ${a[i]} vs ${v}`));

test('SGD (with momentum and weight decay) follows p - lr (g + wd p)', async () => {
  const r = await oneStep({ type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  close(r.new_params.data as Float32Array, P0.map((p, i) => p - 0.1 * (grad[i] + 0.01 * p)));
  close(r.new_momentum.data as Float32Array, P0.map((p, i) => grad[i] + 0.01 * p));
  close(r.loss.data as Float32Array, [P0.reduce((s, p, i) => s + (p - TARGET[i]) ** 2, 0) / 4]);
});

test('Adam and AdamW with bias correction from the step input (Kingma & Ba, Alg. 1)', async () => {
  for (const type of ['adam', 'adamw'] as const) {
    const t = 3, b1 = 0.9, b2 = 0.999, lr = 0.01, wd = 0.1, eps = 1e-8;
    const r = await oneStep({ type, lr, weightDecay: wd }, { step: t });
    const gr = grad.map((v, i) => (type === 'adam' ? v + wd * P0[i] : v));
    const m = gr.map((v) => (1 - b1) * v), v2 = gr.map((v) => (1 - b2) * v * v);
    const expect = P0.map((p, i) => {
      const upd = (m[i] / (1 - b1 ** t)) / (Math.sqrt(v2[i] / (1 - b2 ** t)) + eps);
      return p - lr * upd - (type === 'adamw' ? lr * wd * p : 0);
    });
    close(r.new_params.data as Float32Array, expect, 1e-5);
    close(r.new_adam_m.data as Float32Array, m);
    close(r.new_adam_v.data as Float32Array, v2);
  }
});

test('global-norm clipping scales the gradient to the limit and reports the norm; EMA tracks the weights', async () => {
  const norm = Math.sqrt(grad.reduce((s, v) => s + v * v, 0));
  const r = await oneStep({ type: 'sgd', lr: 1 }, { clipNorm: 0.1, emaDecay: 0.9 });
  close(r.grad_norm.data as Float32Array, [norm]);
  const newP = P0.map((p, i) => p - (grad[i] * 0.1) / (norm + 1e-6));
  close(r.new_params.data as Float32Array, newP);
  close(r.new_ema.data as Float32Array, P0.map((p, i) => 0.9 * p + 0.1 * newP[i]));
});

test('learning-rate schedules: constant, linear warm-up then cosine to minLr', async () => {
  const sched: Schedule = { type: 'cosine', lr: 1, warmup: 10, total: 110, minLr: 0.1 };
  const at = async (step: number) => Number((await oneStep({ type: 'sgd', lr: sched }, { step })).lr.data[0]);
  assert.ok(Math.abs((await at(5)) - 0.5) < 1e-6);
  assert.ok(Math.abs((await at(10)) - 1) < 1e-6);
  assert.ok(Math.abs((await at(60)) - 0.55) < 1e-6); // halfway: min + (lr - min) / 2
  assert.ok(Math.abs((await at(110)) - 0.1) < 1e-6);
  assert.ok(Math.abs((await at(500)) - 0.1) < 1e-6);
  assert.equal(Number((await oneStep({ type: 'sgd', lr: 0.3 })).lr.data[0]).toFixed(6), '0.300000');
});
