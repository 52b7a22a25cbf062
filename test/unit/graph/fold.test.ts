// The constant-folding pass (graph/fold.ts): every evaluation rule against ONNX Runtime running the same
// unfolded graph, the size cap, the names being differentiated kept, and the case that failed before
// the pass: nearest Resize whose scales come from Concat(Constant, Constant), as PyTorch exports it
// without constant folding (the Resize rule accepts constant scales only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, createSession, foldConstants, FOLD_LIMIT, tensorValue, toOnnx, type Tensor, type DType } from '../../../src/sidecar/graph';
import { gradients } from '../../../src/sidecar/graph/autodiff';

const constNode = (g: Graph, dtype: DType, dims: number[], v: number[]): Tensor => g.node('Constant', [], { value: tensorValue(dtype, dims, v) })[0];
const run = async (g: Graph, feeds: Record<string, ort.Tensor>) => createSession(toOnnx(g)).then((s) => s.run(feeds));

test('every fold rule computes what ONNX Runtime computes on the unfolded graph', async () => {
  const build = () => {
    const g = new Graph({ opset: 17 });
    const z = g.input('z', 'float32', []); // each result reaches an output through Add(z): not foldable
    const x = g.input('x', 'float32', [2, 3, 4]);
    const shape = g.shape(x);                                                   // [2, 3, 4]
    const s15 = g.node('Shape', [x], { start: 1, end: -1 })[0];               // [3]
    const hw = g.gather(shape, constNode(g, 'int64', [2], [1, -1]));          // [3, 4]
    const n = g.gather(shape, constNode(g, 'int64', [], [0]));                // 2 (scalar)
    const cat = g.concat([g.unsqueeze(n, [0]), constNode(g, 'int64', [1], [-1]), s15], 0); // [2, -1, 3]
    const m = constNode(g, 'float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const results: Tensor[] = [
      hw, cat, g.node('Size', [x])[0],
      g.cast(g.div(g.mul(g.add(hw, 1), 3), g.constant(2, 'int64')), 'float32'), // int division truncates
      g.sub(g.cast(hw, 'float32'), g.constant(0.5)),
      g.reshape(m, g.concat([constNode(g, 'int64', [1], [3]), constNode(g, 'int64', [1], [-1])], 0)),
      g.squeeze(g.unsqueeze(m, [0, 3]), [3]),
      g.concat([m, g.neg(m)], 1),
      g.gather(m, constNode(g, 'int64', [2, 2], [1, 0, 0, -1]), 1),
      g.slice(m, [1, 2], [2, -9], [0, 1], [1, -1]),
      g.slice(m, [0], [2 ** 62], [1]),
      g.node('Range', [constNode(g, 'int64', [], [1]), constNode(g, 'int64', [], [10]), constNode(g, 'int64', [], [3])])[0],
      g.where(g.equal(cat, g.constant(-1, 'int64')), g.constant(7, 'int64'), cat),
      g.constantOfShape(hw, 2.5),
      g.sqrt(g.max(m, g.constant(3))),
    ];
    results.forEach((r, i) => g.output(g.add(r.dtype === 'float32' ? r : g.cast(r, 'float32'), z), `r${i}`));
    return { g, count: results.length };
  };
  const feeds = { z: new ort.Tensor('float32', new Float32Array([0]), []), x: new ort.Tensor('float32', new Float32Array(24), [2, 3, 4]) };
  const { g: plain, count } = build();
  const want = await run(plain, feeds);
  const { g } = build();
  const report = foldConstants(g);
  assert.deepEqual(g.nodes.map((n) => n.op).filter((op) => op !== 'Identity'), Array(count).fill('Add'), 'only the Adds of z (and the output Identities) remain');
  assert.ok(report.folded > 30);
  const got = await run(g, feeds);
  for (let i = 0; i < count; i++) {
    assert.deepEqual(got[`r${i}`].dims, want[`r${i}`].dims, `r${i} dims`);
    assert.deepEqual([...got[`r${i}`].data as Float32Array], [...want[`r${i}`].data as Float32Array], `r${i}`);
  }
});

test('the fold leaves big constants, the wrt names and dynamic shapes alone', () => {
  const g = new Graph({ opset: 17 });
  const x = g.input('x', 'float32', ['batch', 4]);
  const big = g.initializer('big', tensorValue('float32', [FOLD_LIMIT + 1], Array(FOLD_LIMIT + 1).fill(1)));
  const w = g.initializer('w', tensorValue('float32', [4], [1, 2, 3, 4]));
  const y = g.add(g.mul(x, g.unsqueeze(w, [0])), g.reduceSum(g.mul(big, 2), [0]));
  g.output(g.reshape(y, g.concat([g.gather(g.shape(x), g.constant([0], 'int64')), g.constant([4], 'int64')], 0)), 'y');
  const before = g.nodes.map((n) => n.op);
  foldConstants(g, { keep: ['w'] });
  assert.deepEqual(g.nodes.map((n) => n.op), before, 'nothing folds: big is over the cap, w is kept, batch is dynamic');
  foldConstants(g);
  assert.ok(!g.nodes.some((n) => n.op === 'Unsqueeze'), 'without keep, Unsqueeze(w) folds');
  assert.ok(g.nodes.some((n) => n.op === 'Mul' && n.inputs.includes('big')), 'Mul(big, 2) stays (cap)');

  const h = new Graph({ opset: 17 });
  const s = h.shape(h.input('x', 'float32', ['batch', 4, 5]));
  h.output(h.gather(s, h.constant([2, 1], 'int64')), 'static');
  h.output(h.gather(s, h.constant([0], 'int64')), 'dynamic');
  foldConstants(h);
  assert.deepEqual([...h.initializers.get(h.nodes.find((n) => n.outputs[0] === 'static')!.inputs[0])!.data], [5n, 4n], 'Shape(x)[2, 1] of static dims folds');
  assert.ok(h.nodes.some((n) => n.op === 'Gather' && n.outputs[0] !== 'static'), 'Shape(x)[0] of the dynamic batch does not');
});

/** x [1, 2, 3, 3] -> nearest 2x Resize whose scales are Concat(Constant [1, 1], Constant [2, 2]) -> y. */
function resizeFromConcat(): Graph {
  const g = new Graph({ opset: 17 });
  const x = g.input('x', 'float32', [1, 2, 3, 3]);
  const s = g.concat([constNode(g, 'float32', [2], [1, 1]), constNode(g, 'float32', [2], [2, 2])], 0);
  const y = g.node('Resize', [x, null, s], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })[0];
  g.output(y, 'y');
  return g;
}

test('Resize with scales from Concat(Constant, Constant) differentiates (failed before the fold)', async () => {
  const g = resizeFromConcat();
  assert.equal(g.nodes.find((n) => n.op === 'Resize')!.inputs[2], g.nodes.find((n) => n.op === 'Concat')!.outputs[0]);
  const dy = g.input('grad_y', 'float32', [1, 2, 6, 6]);
  g.output(gradients(g, { seeds: [{ output: 'y', grad: dy }], wrt: ['x'] }).get('x')!, 'grad_x');
  assert.ok(!g.nodes.some((n) => n.op === 'Concat' || n.op === 'Constant'), 'the scales were folded into an initializer');
  const seed = Float32Array.from({ length: 72 }, (_, i) => (i * 7) % 11 - 5);
  const out = await run(g, { x: new ort.Tensor('float32', new Float32Array(18), [1, 2, 3, 3]), grad_y: new ort.Tensor('float32', seed, [1, 2, 6, 6]) });
  // each input pixel (c, i, j) fed the 2x2 block (c, 2i..2i+1, 2j..2j+1): its gradient is the block's sum
  const want = Array.from({ length: 18 }, (_, k) => {
    const c = Math.floor(k / 9), i = Math.floor(k / 3) % 3, j = k % 3;
    return [0, 1].flatMap((a) => [0, 1].map((b) => seed[c * 36 + (2 * i + a) * 6 + 2 * j + b])).reduce((p, q) => p + q);
  });
  assert.deepEqual([...out.grad_x.data as Float32Array], want);

  // scales that are a run-time input still cannot be differentiated, and the error names the op
  const h = new Graph({ opset: 17 });
  const x = h.input('x', 'float32', [1, 2, 3, 3]), s = h.input('s', 'float32', [4]);
  h.output(h.node('Resize', [x, null, s], { mode: 'nearest' })[0], 'y');
  assert.throws(() => gradients(h, { seeds: [{ output: 'y', grad: h.input('g', 'float32', [null, null, null, null]) }], wrt: ['x'] }), /Resize gradient supports nearest mode with integer scales only/);
});

test('fold errors name the op and node; a big ConstantOfShape stays a node', () => {
  const g = new Graph({ opset: 17 });
  g.strict = false; // as for imported files: the builder would refuse the bad Reshape itself
  const x = g.input('x', 'float32', [2]);
  const zeros = g.constantOfShape(g.constant([FOLD_LIMIT, 2], 'int64'), 0);
  g.output(g.add(g.reduceSum(zeros, [0, 1], false), x), 'y');
  const bad = g.reshape(constNode(g, 'float32', [6], [1, 2, 3, 4, 5, 6]), [4, -1]);
  g.output(g.add(g.reduceSum(bad, [0, 1], false), x), 'z');
  assert.throws(() => foldConstants(g), /constant folding of Reshape \(node "n_reshape", output reshape\): cannot reshape \[6\] to \[4,-1\]/);
  assert.ok(g.nodes.some((n) => n.op === 'ConstantOfShape'));
});
