import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, Rng, init, createSession, toOnnx, type Tensor } from '../../../src/sidecar/graph';
import { injectLora, mergeLora } from '../../../src/sidecar/train/lora';
import { mseLoss } from '../../../src/sidecar/train/losses';
import { buildTrainStep } from '../../../src/sidecar/train/train-step';
import { Trainer } from '../../../src/sidecar/train/trainer';

/** MatMul, Gemm (transB) and 1x1 Conv layers; `y` output; optional MSE loss against `target`. */
function model(withLoss: boolean) {
  const g = new Graph({ seed: 5 });
  const x = g.input('x', 'float32', [3, 4, 2, 2]);
  const c = g.conv(x, g.param('proj.weight', [6, 4, 1, 1], init.torchDefault(4)), g.param('proj.bias', [6], init.zeros()));
  const flat = g.reshape(c, [3, 24]);
  const h = g.gemm(flat, g.param('fc.weight', [8, 24], init.torchDefault(24)), g.param('fc.bias', [8], init.zeros()), { transB: true, alpha: 0.5 });
  const y = g.output(g.matmul(g.tanh(h), g.param('head.weight', [8, 2], init.torchDefault(8))), 'y');
  let loss: Tensor | undefined;
  if (withLoss) loss = mseLoss(g, y, g.input('target', 'float32', [3, 2]));
  return { g, loss };
}
const rng = new Rng(9);
const X = new ort.Tensor('float32', rng.fillNormal(new Float32Array(48)), [3, 4, 2, 2]);
const T = new ort.Tensor('float32', Float32Array.from([1, -1, 0.5, 0.5, -1, 1]), [3, 2]);
const yOf = async (g: Graph) => (await (await createSession(toOnnx(g))).run({ x: X })).y.data as Float32Array;

test('LoRA: injected graph starts unchanged, trains only adapters, merges back to the same function', async () => {
  const before = await yOf(model(false).g);
  const { g, loss } = model(true);
  const sites = injectLora(g, { rank: 2, alpha: 4, targets: /^(proj|fc|head)\.weight$/ });
  assert.deepEqual(sites.map((s) => s.kind).sort(), ['conv1x1', 'gemm', 'matmul']);
  assert.deepEqual([...g.trainable].sort(), sites.flatMap((s) => [s.a, s.b]).sort());
  const base = new Map([...g.initializers].filter(([n]) => !n.includes('lora')).map(([n, v]) => [n, { ...v, data: v.data.slice() }]));

  const probe = model(false).g;
  injectLora(probe, { rank: 2, alpha: 4, targets: /^(proj|fc|head)\.weight$/ });
  assert.deepEqual(await yOf(probe), before, 'B = 0: the adapted graph computes the original function');

  const trainer = await Trainer.create(buildTrainStep(g, { loss: loss!, optimizer: { type: 'adam', lr: 0.05 } }), {});
  const losses = await trainer.fit({ steps: 30, batch: () => ({ x: X, target: T }) });
  assert.ok(losses[29] < losses[0] * 0.7, `${losses[0]} -> ${losses[29]}`);
  for (const [n, v] of base) assert.deepEqual(g.initializers.get(n)!.data, v.data, `${n} stayed frozen`);

  // the adapted function, with trained adapters, vs the original graph with merged weights
  for (const [n, v] of trainer.params()) probe.initializers.set(n, { ...v, data: (v.data as Float32Array).slice() });
  const adapted = await yOf(probe);
  const merged = model(false).g;
  for (const [n, v] of mergeLora(base, trainer.params(), sites)) merged.initializers.set(n, v);
  const m = await yOf(merged);
  m.forEach((v, i) => assert.ok(Math.abs(v - adapted[i]) < 1e-5, `${v} vs ${adapted[i]}`));
  assert.ok(m.some((v, i) => Math.abs(v - before[i]) > 1e-3), 'training changed the function');
  await trainer.dispose();
});

test('LoRA refuses targets that match nothing', () => {
  assert.throws(() => injectLora(model(false).g, { rank: 2, targets: ['nope'] }), /no MatMul\/Gemm\/1x1-Conv node/);
});
