// Property tests: elementwise and reduction rules against float64 central differences (h = 1e-6).
// Tolerance 1e-6 relative to the largest numeric gradient: truncation error ~h^2 * f''' ~ 1e-12, rounding
// ~eps64 * |L| / h ~ 1e-10 * |L|; 1e-6 leaves room for |L| up to ~1e4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Rng } from '../../../src/sidecar/graph';
import { gradientModel } from '../../../src/sidecar/graph/autodiff';
import { checkGrad, type GradCase } from './gradcheck';

const TOL = 1e-6;
const shapes = (rng: Rng) => [1 + rng.int(3), 1 + rng.int(4), 2 + rng.int(3)];
const unary = (build: GradCase['build'], positive = false) => async () => {
  for (let seed = 1; seed <= 3; seed++) {
    const dims = shapes(new Rng(seed));
    const data = positive ? Array.from({ length: dims.reduce((a, b) => a * b) }, (_, i) => 0.5 + ((i * 7919) % 13) / 5) : undefined;
    await checkGrad({ dtype: 'float64', inputs: { a: { dims, data } }, build, tol: TOL }, seed);
  }
};

test('Neg Exp Sigmoid Tanh Sin Cos', unary((g, x) => g.cos(g.sin(g.tanh(g.sigmoid(g.exp(g.neg(x.a))))))));
test('Sqrt Log Reciprocal Pow (positive inputs)', unary((g, x) => g.add(g.pow(g.reciprocal(g.log(g.sqrt(x.a))), 3), g.pow(x.a, 2)), true));
test('Softmax and LogSoftmax along an axis', unary((g, x) => g.add(g.softmax(x.a, 1), g.logSoftmax(x.a, -1))));
test('Relu Abs Clip (away from kinks)', unary((g, x) => g.add(g.add(g.relu(x.a), g.abs(x.a)), g.node('Clip', [x.a, g.scalar(-0.5, x.a), g.scalar(0.7, x.a)])[0])));

test('broadcasting Add Sub Mul Div reduce gradients to each operand', async () => {
  for (let seed = 1; seed <= 3; seed++) {
    const [n, c, w] = shapes(new Rng(seed));
    await checkGrad({
      dtype: 'float64', tol: TOL,
      inputs: { a: { dims: [n, c, w] }, b: { dims: [c, 1] }, d: { dims: [w], data: Array.from({ length: w }, (_, i) => 1.5 + i) } },
      build: (g, x) => g.div(g.mul(g.sub(g.add(x.a, x.b), x.b), x.a), g.add(x.d, x.b)),
    }, seed);
  }
});

test('broadcast gradients with dynamic shapes (runtime axis computation)', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL,
    inputs: { a: { dims: [2, 3, 4], symbolic: ['n', 'c', 'w'] }, b: { dims: [3, 1], symbolic: ['c', 1] } },
    build: (g, x) => g.mul(g.add(x.a, x.b), x.b),
  });
});

test('Where, Sum, Cast round trip', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL,
    inputs: { a: { dims: [3, 4] }, b: { dims: [4] }, m: { dims: [3, 4], dtype: 'bool', data: Array.from({ length: 12 }, (_, i) => i % 3 ? 1 : 0) } },
    build: (g, x) => g.sum([g.where(x.m, x.a, x.b), x.a, g.cast(x.b, 'float64')]),
  });
});

test('ReduceSum, ReduceMean (keepdims on and off), ReduceSumSquare', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 3, 4] } },
    build: (g, x) => g.add(g.reduceMean(x.a, [1], true), g.add(g.reduceSum(g.mul(x.a, x.a), [0, 2], true), g.node('ReduceSumSquare', [x.a, g.constant([0], 'int64')], { keepdims: 0 })[0])),
  });
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 3, 4], symbolic: ['n', 3, 'w'] } },
    build: (g, x) => g.mul(g.reduceMean(x.a, [2], true), x.a),
  });
});

test('an op without a rule stops the autodiff with its op type and node name', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [1, 1, 4, 4]);
  g.output(g.node('CumSum', [x, g.constant(1, 'int64')])[0], 'y');
  assert.throws(() => gradientModel(g, ['x']), /no gradient rule for op CumSum \(node "n_cumsum"/);
});

test('Max and Min route the gradient to the selected operand (broadcast)', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL,
    inputs: { a: { dims: [3, 4] }, b: { dims: [4] } },
    build: (g, x) => g.add(g.max(x.a, x.b), g.mul(g.min(x.a, x.b), 3)),
  });
});

test('Pow with a tensor exponent (gradient for base and exponent), Flatten, Identity', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL,
    inputs: { a: { dims: [2, 3], data: [0.5, 1.2, 2, 0.7, 1.5, 3] }, p: { dims: [3] } },
    build: (g, x) => g.identity(g.unary('Flatten', g.pow(x.a, x.p), { axis: 1 })),
  });
});

// LeakyRelu and Dropout (inference mode) have float32 kernels only: h = 1e-2, tolerance 3e-3 (see grad-nn).
test('LeakyRelu and Dropout (float32)', async () => {
  await checkGrad({
    dtype: 'float32', tol: 3e-3,
    inputs: { a: { dims: [3, 4] } },
    build: (g, x) => g.node('Dropout', [g.unary('LeakyRelu', x.a, { alpha: { float: 0.2 } })])[0],
  });
});

test('ReduceMax and ReduceMin (keepdims on and off)', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL,
    inputs: { a: { dims: [3, 4] } },
    build: (g, x) => g.add(x.a, g.add(g.reduceMax(x.a, [1], true), g.unsqueeze(g.node('ReduceMin', [x.a, g.constant([1], 'int64')], { keepdims: 0 })[0], [1]))),
  });
});

// Elu and Softplus have float32 kernels only: h = 1e-2, tolerance 3e-3 (see grad-nn).
test('Elu and Softplus (float32)', async () => {
  await checkGrad({ dtype: 'float32', tol: 3e-3, inputs: { a: { dims: [3, 4] } }, build: (g, x) => g.add(g.unary('Softplus', x.a), g.unary('Elu', x.a, { alpha: { float: 0.7 } })) });
});

test('Tile sums the repeats back', async () => {
  await checkGrad({ dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 3] } }, build: (g, x) => g.node('Tile', [x.a, g.constant([3, 2], 'int64')])[0] });
});
