import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, init, createSession, f32, loadModel, saveModel, toOnnx, fromModelProto } from '../../../src/sidecar/graph';
import { decodeModel } from '../../../src/sidecar/graph/proto';

function mlp() {
  const g = new Graph({ seed: 7 });
  const x = g.input('x', 'float32', ['batch', 4]);
  const h = g.scope('fc1', () => g.linear(x, g.param('weight', [4, 8], init.torchDefault(4)), g.param('bias', [8], init.zeros())));
  g.output(g.linear(g.silu(h), g.param('fc2.weight', [8, 3], init.torchDefault(8))), 'y');
  return g;
}

/** Reference MLP in plain JS, to check what ORT computes from our serialised file. */
function mlpRef(g: Graph, x: number[], batch: number): number[] {
  const w1 = g.initializers.get('fc1.weight')!.data as Float32Array, b1 = g.initializers.get('fc1.bias')!.data as Float32Array;
  const w2 = g.initializers.get('fc2.weight')!.data as Float32Array;
  const out: number[] = [];
  for (let n = 0; n < batch; n++) {
    const h = Array.from({ length: 8 }, (_, j) => b1[j] + [0, 1, 2, 3].reduce((s, i) => s + x[n * 4 + i] * w1[i * 8 + j], 0));
    const a = h.map((v) => v / (1 + Math.exp(-v)));
    for (let k = 0; k < 3; k++) out.push(a.reduce((s, v, j) => s + v * w2[j * 3 + k], 0));
  }
  return out;
}

test('a built MLP loads in onnxruntime-node and computes what the maths says', async () => {
  const g = mlp();
  assert.deepEqual([...g.trainable], ['fc1.weight', 'fc1.bias', 'fc2.weight']);
  const s = await createSession(g);
  const x = [0.5, -1, 2, 0.25, 1, 1, -1, -3];
  const r = await s.run({ x: f32(x, [2, 4]) });
  assert.deepEqual(r.y.dims, [2, 3]);
  const ref = mlpRef(g, x, 2);
  (r.y.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5, `${v} vs ${ref[i]}`));
});

test('initialisation is seeded per parameter name', () => {
  const a = mlp(), b = mlp();
  assert.deepEqual(a.initializers.get('fc1.weight')!.data, b.initializers.get('fc1.weight')!.data);
  const c = new Graph({ seed: 8 });
  c.param('fc1.weight', [4, 8], init.torchDefault(4));
  assert.notDeepEqual(c.initializers.get('fc1.weight')!.data, a.initializers.get('fc1.weight')!.data);
});

test('shape errors name the op and the shapes as the graph is built', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3, 8, 8]);
  const w = g.param('w', [4, 5, 3, 3], init.zeros());
  assert.throws(() => g.conv(x, w), /Conv .*3 channels.*\[4, 5, 3, 3\]/);
  assert.throws(() => g.add(x, g.input('y', 'float32', [2, 4, 8, 8])), /Add .*cannot broadcast/);
  assert.throws(() => g.reshape(x, [5, -1]), /cannot reshape/);
  assert.throws(() => g.groupNorm(x, 2, w, w), /3 channels do not split into 2 groups/);
});

test('shape inference covers the model ops', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['n', 8, 9, 9]);
  const c = g.conv(x, g.param('w', [16, 8, 3, 3], init.zeros()), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] });
  assert.deepEqual(c.shape, ['n', 16, 5, 5]);
  assert.deepEqual(g.conv(c, g.param('dw', [16, 1, 3, 3], init.zeros()), undefined, { group: 16, pads: [1, 1, 1, 1] }).shape, ['n', 16, 5, 5]);
  assert.deepEqual(g.upsample2x(c).shape, ['n', 16, 10, 10]);
  const t = g.reshape(g.transpose(c, [0, 2, 3, 1]), [0, -1, 16]);
  assert.deepEqual(t.shape, ['n', 25, 16]); // -1 resolved although the batch is symbolic
  const seq = g.input('seq', 'float32', [2, 25, 16]);
  assert.deepEqual(g.matmul(seq, g.transpose(seq, [0, 2, 1])).shape, [2, 25, 25]);
  assert.deepEqual(g.split(seq, [4, 12], 2).map((s) => s.shape), [[2, 25, 4], [2, 25, 12]]);
  assert.deepEqual(g.slice(seq, [1], [-1], [1]).shape, [2, 23, 16]);
  assert.deepEqual(g.reduceMean(seq, [-1], false).shape, [2, 25]);
  assert.deepEqual(g.unsqueeze(g.squeeze(g.unsqueeze(seq, [0]), [0]), [1]).shape, [2, 1, 25, 16]);
  assert.deepEqual(g.concat([seq, seq], 1).shape, [2, 50, 16]);
  assert.deepEqual(g.expand(g.constant([1, 2]), [3, 2]).shape, [3, 2]);
  const ids = g.input('ids', 'int64', [2, 5]);
  assert.deepEqual(g.gather(g.param('emb', [100, 16], init.zeros()), ids).shape, [2, 5, 16]);
});

test('models round-trip through ONNX bytes and through files with external data', async () => {
  const g = mlp();
  const back = fromModelProto(decodeModel(toOnnx(g)));
  assert.equal(back.nodes.length, g.nodes.length);
  assert.deepEqual(back.tensor('y').shape, ['batch', 3]);
  const dir = mkdtempSync(join(tmpdir(), 'graph-'));
  saveModel(g, join(dir, 'model.onnx'), { externalData: 'model.onnx_data', threshold: 64 });
  assert.ok(existsSync(join(dir, 'model.onnx_data')) && statSync(join(dir, 'model.onnx_data')).size >= 4 * 8 * 4);
  const loaded = loadModel(join(dir, 'model.onnx'));
  assert.equal(loaded.trainable.size, 0);
  assert.deepEqual([...loadModel(join(dir, 'model.onnx'), { markParameters: true }).trainable], [...g.trainable], 'parameters stay marked through a file');
  assert.deepEqual(loaded.initializers.get('fc2.weight')!.data, g.initializers.get('fc2.weight')!.data);
  const s = await ort.InferenceSession.create(join(dir, 'model.onnx'));
  const r = await s.run({ x: f32([1, 2, 3, 4], [1, 4]) });
  const ref = mlpRef(g, [1, 2, 3, 4], 1);
  (r.y.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5));
});

test('external data that leaves the model folder is refused, naming the path; inside the folder it loads', () => {
  const g = mlp();
  const root = mkdtempSync(join(tmpdir(), 'graph-ext-'));
  const dir = join(root, 'model');
  mkdirSync(dir);
  // what a hostile file would hold: weights "stored" in a file outside its folder
  saveModel(g, join(dir, 'model.onnx'), { externalData: '../outside.bin', threshold: 64 });
  assert.throws(() => loadModel(join(dir, 'model.onnx')), /external data "\.\.\/outside\.bin" leaves the model folder/);
  mkdirSync(join(dir, 'weights'));
  saveModel(g, join(dir, 'model.onnx'), { externalData: 'weights/../../outside.bin', threshold: 64 });
  assert.throws(() => loadModel(join(dir, 'model.onnx')), /leaves the model folder/);
  saveModel(g, join(dir, 'model.onnx'), { externalData: 'weights/../weights/w.bin', threshold: 64 });
  assert.deepEqual(loadModel(join(dir, 'model.onnx')).initializers.get('fc2.weight')!.data, g.initializers.get('fc2.weight')!.data);
});

test('Reshape infers -1 across symbolic dims, and refuses impossible targets', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['batch', 160, 16, 16]);
  assert.deepEqual(g.reshape(x, [0, 160, -1]).shape, ['batch', 160, 256]);
  assert.deepEqual(g.reshape(x, [-1, 256]).shape, [null, 256]);
  const y = g.input('y', 'float32', ['batch', 4, 9]);
  assert.deepEqual(g.reshape(y, [-1, 36]).shape, ['batch', 36]);
  assert.throws(() => g.reshape(g.input('z', 'float32', [4, 9]), [-1, 5]), /cannot reshape/);
  assert.deepEqual(g.reshape(g.input('w', 'float32', ['n', 6]), [-1, 4]).shape, [null, 4], 'valid for even n: not refused');
});

test('graphs with large weights reach ORT through a temporary external-data file', async () => {
  const g = mlp();
  const s = await createSession(g, { externalDataAbove: 16 });
  const r = await s.run({ x: f32([1, 2, 3, 4], [1, 4]) });
  const ref = mlpRef(g, [1, 2, 3, 4], 1);
  (r.y.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5));
});
