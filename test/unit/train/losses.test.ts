// Losses: InfoNCE value against a plain-JS reference, and its gradient against float64 finite
// differences (tolerance 1e-6, as for the other float64 rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, createSession } from '../../../src/sidecar/graph';
import { crossEntropyLoss, infoNceLoss, mseLoss } from '../../../src/sidecar/train/losses';
import { checkGrad } from '../graph/gradcheck';

function infoNceRef(a: number[][], b: number[][], s: number): number {
  const n = (v: number[]) => { const l = Math.hypot(...v); return v.map((x) => x / l); };
  const A = a.map(n), B = b.map(n);
  const logits = A.map((x) => B.map((y) => s * x.reduce((t, xi, k) => t + xi * y[k], 0)));
  const ce = (rows: number[][]) => rows.reduce((t, r, i) => t - (r[i] - Math.log(r.reduce((u, v) => u + Math.exp(v), 0))), 0) / rows.length;
  return (ce(logits) + ce(logits[0].map((_, j) => logits.map((r) => r[j])))) / 2;
}

test('InfoNCE (CLIP symmetric cross-entropy) matches the reference', async () => {
  const a = [[1, 0, 2], [0.5, 1, -1], [0, -2, 1]], b = [[0.9, 0.1, 2], [0.2, 1, -1], [1, -1, 1]];
  const g = new Graph();
  const ta = g.input('a', 'float64', [3, 3]), tb = g.input('b', 'float64', [3, 3]);
  g.output(infoNceLoss(g, ta, tb, 5), 'loss');
  const s = await createSession(g);
  const r = await s.run({ a: new ort.Tensor('float64', Float64Array.from(a.flat()), [3, 3]), b: new ort.Tensor('float64', Float64Array.from(b.flat()), [3, 3]) });
  assert.ok(Math.abs(Number(r.loss.data[0]) - infoNceRef(a, b, 5)) < 1e-6, `${r.loss.data[0]} vs ${infoNceRef(a, b, 5)}`);
  assert.deepEqual(r.loss.dims, []);
});

test('InfoNCE and MSE gradients match finite differences', async () => {
  await checkGrad({ dtype: 'float64', tol: 1e-6, inputs: { a: { dims: [4, 5] }, b: { dims: [4, 5] } }, build: (g, x) => infoNceLoss(g, x.a, x.b, 3) });
  await checkGrad({ dtype: 'float64', tol: 1e-6, inputs: { a: { dims: [2, 3] }, b: { dims: [2, 3] } }, build: (g, x) => mseLoss(g, x.a, x.b) });
});

test('cross-entropy matches -mean log softmax of the true class, and its gradient finite differences', async () => {
  const z = [[2, 0.5, -1], [0, 0, 3]], t = [[1, 0, 0], [0, 1, 0]];
  const g = new Graph();
  g.output(crossEntropyLoss(g, g.input('z', 'float64', [2, 3]), g.input('t', 'float64', [2, 3])), 'loss');
  const r = await (await createSession(g)).run({ z: new ort.Tensor('float64', Float64Array.from(z.flat()), [2, 3]), t: new ort.Tensor('float64', Float64Array.from(t.flat()), [2, 3]) });
  const lse = (v: number[]) => Math.log(v.reduce((a, x) => a + Math.exp(x), 0));
  const ref = ((lse(z[0]) - z[0][0]) + (lse(z[1]) - z[1][1])) / 2;
  assert.ok(Math.abs(Number(r.loss.data[0]) - ref) < 1e-9, `${r.loss.data[0]} vs ${ref}`);
  await checkGrad({ dtype: 'float64', tol: 1e-6, inputs: { z: { dims: [3, 4] }, t: { dims: [3, 4] } }, build: (g2, x) => crossEntropyLoss(g2, x.z, x.t) });
});
