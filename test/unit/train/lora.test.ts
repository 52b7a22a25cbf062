/**
 * What LoRA promises, checked with real ORT sessions: an injected graph computes exactly the original
 * output while B = 0; training moves only the adapters (base weights byte-identical); and mergeLora's
 * weights, put back into the original graph, compute what the adapted graph computes (to 1e-5), for
 * every kind of site: MatMul, Gemm with and without transB (alpha != 1, a bias, beta != 1), 1x1 Conv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, Rng, init, createSession, toOnnx, type Tensor, type TensorValue } from '../../../src/sidecar/graph';
import { injectLora, mergeLora } from '../../../src/sidecar/train/lora';
import { mseLoss } from '../../../src/sidecar/train/losses';
import { buildTrainStep } from '../../../src/sidecar/train/train-step';
import { Trainer } from '../../../src/sidecar/train/trainer';

const run = async (g: Graph, feeds: Record<string, ort.Tensor>) => (await (await createSession(toOnnx(g))).run(feeds)).y.data as Float32Array;
const maxDiff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
};
const bytes = (v: TensorValue) => Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
/** Every initializer as a private copy (what the graph held before anything else touched it). */
const snapshot = (g: Graph) => new Map([...g.initializers].map(([n, v]) => [n, { ...v, data: v.data.slice() }]));

/** One layer of each kind, with fan-in 5 != fan-out 3 so a transposed merge cannot pass by symmetry. */
const SITES: Record<string, { x: number[]; build: (g: Graph, x: Tensor) => Tensor }> = {
  matmul: { x: [4, 5], build: (g, x) => g.matmul(x, g.param('w', [5, 3], init.torchDefault(5))) },
  'gemm, transB, alpha 0.5': {
    x: [4, 5],
    build: (g, x) => g.gemm(x, g.param('w', [3, 5], init.torchDefault(5)), g.param('b', [3], init.normal(1)), { transB: true, alpha: 0.5 }),
  },
  'gemm, alpha 2, beta 0.7': {
    x: [4, 5],
    build: (g, x) => g.gemm(x, g.param('w', [5, 3], init.torchDefault(5)), g.param('b', [3], init.normal(1)), { alpha: 2, beta: 0.7 }),
  },
  'conv 1x1': {
    x: [2, 5, 3, 2],
    build: (g, x) => g.conv(x, g.param('w', [3, 5, 1, 1], init.torchDefault(5)), g.param('b', [3], init.normal(1))),
  },
};

for (const [name, site] of Object.entries(SITES)) {
  test(`LoRA on a ${name} site: unchanged at B = 0; merged weights compute the adapted output`, async () => {
    const layer = () => {
      const g = new Graph({ seed: 3 });
      g.output(site.build(g, g.input('x', 'float32', site.x)), 'y');
      return g;
    };
    const feeds = { x: new ort.Tensor('float32', new Rng(4).fillNormal(new Float32Array(site.x.reduce((a, b) => a * b))), site.x) };
    const original = layer();
    const base = snapshot(original);
    const before = await run(original, feeds);

    const adapted = layer();
    const [s, ...more] = injectLora(adapted, { rank: 2, alpha: 6, targets: ['w'] });
    assert.equal(more.length, 0);
    assert.equal(s.kind, name.split(/[ ,]/)[0].replace('conv', 'conv1x1'));
    assert.equal(maxDiff(await run(adapted, feeds), before), 0, 'B = 0: the injected graph computes exactly the original output');

    // Adapters as training might leave them: A and B both non-zero.
    const rng = new Rng(8);
    for (const p of [s.a, s.b]) {
      const v = adapted.initializers.get(p)!;
      adapted.initializers.set(p, { ...v, data: rng.fillNormal(new Float32Array(v.data.length)) });
    }
    const out = await run(adapted, feeds);
    assert.ok(maxDiff(out, before) > 0.1, 'the adapters take part in the output');

    const merged = mergeLora(base, adapted.initializers, [s]);
    assert.ok(bytes(base.get('w')!).equals(bytes(original.initializers.get('w')!)), 'mergeLora leaves the weights it was given alone');
    const m = layer();
    for (const [n, v] of merged) m.initializers.set(n, v);
    const d = maxDiff(await run(m, feeds), out);
    assert.ok(d < 1e-5, `merged vs adapted: max |diff| ${d}`);
  });
}

/** MatMul, Gemm (transB, alpha 0.5), Gemm (alpha 2) and 1x1 Conv layers; `y` output; optional MSE loss against `target`. */
function model(withLoss: boolean) {
  const g = new Graph({ seed: 5 });
  const x = g.input('x', 'float32', [3, 4, 2, 2]);
  const c = g.conv(x, g.param('proj.weight', [6, 4, 1, 1], init.torchDefault(4)), g.param('proj.bias', [6], init.zeros()));
  const flat = g.reshape(c, [3, 24]);
  const h = g.gemm(flat, g.param('fc.weight', [8, 24], init.torchDefault(24)), g.param('fc.bias', [8], init.zeros()), { transB: true, alpha: 0.5 });
  const h2 = g.gemm(g.tanh(h), g.param('fc2.weight', [8, 5], init.torchDefault(8)), undefined, { alpha: 2 });
  const y = g.output(g.matmul(g.tanh(h2), g.param('head.weight', [5, 2], init.torchDefault(5))), 'y');
  let loss: Tensor | undefined;
  if (withLoss) loss = mseLoss(g, y, g.input('target', 'float32', [3, 2]));
  return { g, loss };
}
const TARGETS = /^(proj|fc|fc2|head)\.weight$/;
const X = new ort.Tensor('float32', new Rng(9).fillNormal(new Float32Array(48)), [3, 4, 2, 2]);
const T = new ort.Tensor('float32', Float32Array.from([1, -1, 0.5, 0.5, -1, 1]), [3, 2]);

test('LoRA training moves only the adapters; the merged weights compute the trained adapted graph', async () => {
  const before = await run(model(false).g, { x: X });
  const { g, loss } = model(true);
  const original = snapshot(g);
  const sites = injectLora(g, { rank: 2, alpha: 4, targets: TARGETS });
  assert.deepEqual(sites.map((s) => s.kind).sort(), ['conv1x1', 'gemm', 'gemm', 'matmul']);
  const adapters = sites.flatMap((s) => [s.a, s.b]).sort();

  const trainer = await Trainer.create(buildTrainStep(g, { loss: loss!, optimizer: { type: 'adam', lr: 0.05 } }), {});
  try {
    const losses = await trainer.fit({ steps: 30, batch: () => ({ x: X, target: T }) });
    assert.ok(losses[29] < losses[0] * 0.7, `${losses[0]} -> ${losses[29]}`);
    // The trained model: the training graph's frozen initializers plus the trainer's parameters.
    const trained = new Map([...trainer.spec.graph.initializers, ...trainer.params()]);
    assert.deepEqual([...trainer.params().keys()].sort(), adapters, 'the adapters are the only parameters trained');
    for (const [n, v] of original) assert.ok(bytes(trained.get(n)!).equals(bytes(v)), `${n} is byte-identical after training`);
    for (const s of sites) assert.ok(trained.get(s.b)!.data.some((v) => v !== 0), `${s.b} was trained`);

    // The trained adapted function (the same graph without its loss) against the original graph with merged weights.
    const probe = model(false).g;
    injectLora(probe, { rank: 2, alpha: 4, targets: TARGETS });
    for (const n of adapters) probe.initializers.set(n, trained.get(n)!);
    const adapted = await run(probe, { x: X });
    const merged = model(false).g;
    for (const [n, v] of mergeLora(original, trainer.params(), sites)) merged.initializers.set(n, v);
    const d = maxDiff(await run(merged, { x: X }), adapted);
    assert.ok(d < 1e-5, `merged vs adapted: max |diff| ${d}`);
    assert.ok(maxDiff(adapted, before) > 1e-3, 'training changed the function');
  } finally {
    await trainer.dispose();
  }
});

test('LoRA refuses targets that match nothing', () => {
  assert.throws(() => injectLora(model(false).g, { rank: 2, targets: ['nope'] }), /no MatMul\/Gemm\/1x1-Conv node/);
});
