/**
 * createFedSession: a graph's big weights fed as inputs from its own arrays (how a tuned SD-size UNet
 * runs without a second copy in ORT). Same outputs as the ordinary session; callers see the graph's
 * own inputs only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { createFedSession, createSession, Graph, init } from '../../../src/sidecar/graph';
import { Rng } from '../../../src/sidecar/graph/init';

function mlp(): Graph {
  const g = new Graph({ seed: 4 });
  const x = g.input('x', 'float32', ['batch', 256]);
  const w1 = g.param('w1', [256, 256], init.normal(0.05)); // 256 KB: fed
  const b1 = g.param('b1', [256], init.zeros()); // 1 KB: stays inside
  const w2 = g.param('w2', [256, 8], init.normal(0.05)); // 8 KB: stays inside
  g.output(g.matmul(g.silu(g.add(g.matmul(x, w1), b1)), w2), 'y');
  return g;
}

test('the fed session gives the ordinary session\'s outputs and shows only the graph\'s own inputs', async () => {
  const g = mlp();
  const plain = await createSession(g);
  const fed = await createFedSession(g, 64 * 1024);
  assert.deepEqual(fed.inputNames, ['x']);
  assert.deepEqual(fed.inputMetadata.map((m) => m.name), ['x']);
  assert.deepEqual(g.inputs, ['x'], 'the graph is left as it was');
  const x = new ort.Tensor('float32', new Rng(1).fillNormal(new Float32Array(3 * 256)), [3, 256]);
  const a = (await plain.run({ x })).y.data as Float32Array;
  const b = (await fed.run({ x })).y.data as Float32Array;
  assert.equal(b.length, 24);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * Math.max(1, Math.abs(a[i])), `y[${i}]: ${a[i]} vs ${b[i]}`);
  // The weights are read where they are: a change to the graph's array shows in the next run.
  (g.initializers.get('w1')!.data as Float32Array).fill(0);
  const c = (await fed.run({ x })).y.data as Float32Array;
  assert.ok(c.every((v) => v === 0), 'silu(0 + 0) = 0, so y = 0');
  await fed.release();
});
