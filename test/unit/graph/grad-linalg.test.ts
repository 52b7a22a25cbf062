// Property tests: MatMul, Gemm, Einsum and the shape ops against float64 central differences.
// Tolerance 1e-6 relative to the largest numeric gradient (see grad-elementwise.test.ts for why).
import { test } from 'node:test';
import { Rng } from '../../../src/sidecar/graph';
import { checkGrad } from './gradcheck';

const TOL = 1e-6;

test('MatMul: batched, broadcast batch, and [.., in] x [in, out] weights', async () => {
  for (let seed = 1; seed <= 3; seed++) {
    const r = new Rng(seed), b = 1 + r.int(3), m = 1 + r.int(4), k = 1 + r.int(4), n = 1 + r.int(4);
    await checkGrad({ dtype: 'float64', tol: TOL, inputs: { a: { dims: [b, m, k] }, w: { dims: [k, n] } }, build: (g, x) => g.matmul(x.a, x.w) }, seed);
    await checkGrad({ dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, b, m, k] }, c: { dims: [b, k, n] } }, build: (g, x) => g.matmul(x.a, x.c) }, seed);
  }
  await checkGrad({ dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 3, 4], symbolic: ['n', 't', 4] }, w: { dims: [4, 5] } }, build: (g, x) => g.matmul(x.a, x.w) });
});

test('Gemm with every transA/transB, alpha, beta and a broadcast C', async () => {
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
    await checkGrad({
      dtype: 'float64', tol: TOL,
      inputs: { a: { dims: tA ? [4, 3] : [3, 4] }, b: { dims: tB ? [5, 4] : [4, 5] }, c: { dims: [5] } },
      build: (g, x) => g.gemm(x.a, x.b, x.c, { transA: tA, transB: tB, alpha: 0.7, beta: 1.3 }),
    });
  }
});

test('Einsum (attention-style contractions)', async () => {
  await checkGrad({ dtype: 'float64', tol: TOL, inputs: { q: { dims: [2, 3, 4] }, k: { dims: [2, 5, 4] } }, build: (g, x) => g.einsum('bid,bjd->bij', x.q, x.k) });
  await checkGrad({ dtype: 'float64', tol: TOL, inputs: { a: { dims: [3, 4] }, v: { dims: [4] } }, build: (g, x) => g.einsum('ij,j->i', x.a, x.v) });
});

test('Reshape Transpose Squeeze Unsqueeze Expand', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 3, 4] }, s: { dims: [1, 4] } },
    build: (g, x) => g.mul(g.unsqueeze(g.squeeze(g.unsqueeze(g.transpose(g.reshape(x.a, [3, 2, 4]), [1, 0, 2]), [0]), [0]), [1]), g.expand(x.s, [2, 1, 3, 4])),
  });
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 3, 4], symbolic: ['n', 3, 'w'] } },
    build: (g, x) => g.transpose(g.reshape(x.a, [0, -1]), [1, 0]),
  });
});

test('Concat Split Slice Pad (static and dynamic shapes)', async () => {
  for (const sym of [undefined, ['n', 'c', 'w']]) {
    await checkGrad({
      dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 5, 4], symbolic: sym }, b: { dims: [2, 2, 4] } },
      build: (g, x) => {
        const cat = g.concat([x.a, x.b], 1);
        const [p, q] = g.split(cat, [3, 4], 1);
        const s = g.slice(q, [2, -3], [100, -1], [1, 2]);
        return g.add(g.mul(g.slice(p, [1], [3], [1]), 2), g.pad(s, [0, 0, 1, 0, 0, 1]));
      },
    });
  }
});

test('Gather on axis 0 (embedding lookup) and axis 1', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { e: { dims: [6, 3] }, ids: { dims: [2, 3], dtype: 'int64', data: [0, 5, 2, 2, 1, 0] } },
    build: (g, x) => g.gather(x.e, x.ids),
  });
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { e: { dims: [2, 4, 3] }, ids: { dims: [3], dtype: 'int64', data: [3, 0, 3] } },
    build: (g, x) => g.gather(x.e, x.ids, 1),
  });
});

test('Slice and Reshape whose parameters come from Constant nodes (value_ints), as exporters write them', async () => {
  await checkGrad({
    dtype: 'float64', tol: TOL, inputs: { a: { dims: [2, 6] } },
    build: (g, x) => {
      const k = (v: number[]) => g.node('Constant', [], { value_ints: v })[0];
      const s = g.node('Slice', [x.a, k([1]), k([5]), k([1])])[0];
      return g.node('Reshape', [s, k([4, 2])])[0];
    },
  });
});
