// Property tests: Conv, normalisations, Resize, Erf/GELU.
// ORT's CPU kernels for Conv, ConvTranspose, InstanceNormalization, Resize, AveragePool and Erf are
// float32-only, so those cases run in float32 with h = 1e-2. Tolerance 3e-3 relative to the largest
// numeric gradient: rounding in the central difference ~ eps32 * |L| / h ~ 1.2e-5 * |L| (|L| ~ 10-100
// here), truncation ~ h^2 * f''' ~ 1e-4 (zero for Conv, which is linear in each operand).
// LayerNormalization and GroupNormalization have float64 kernels and use the float64 tolerance 1e-6.
import { test } from 'node:test';
import { Rng } from '../../../src/sidecar/graph';
import { checkGrad } from './gradcheck';

const TOL32 = 3e-3, TOL64 = 1e-6;

test('Conv: stride 1 and 2, padding, odd sizes, bias, 1x1, random shapes', async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const r = new Rng(seed);
    const [n, c, o, h, w] = [1 + r.int(2), 1 + r.int(3), 1 + r.int(3), 5 + r.int(4), 5 + r.int(4)];
    const k = [1, 3, 3, 4][seed - 1], s = 1 + (seed % 2), p = k === 1 ? 0 : 1;
    await checkGrad({
      dtype: 'float32', tol: TOL32, samples: 8,
      inputs: { x: { dims: [n, c, h, w] }, w: { dims: [o, c, k, k] }, b: { dims: [o] } },
      build: (g, x) => g.conv(x.x, x.w, x.b, { strides: [s, s], pads: [p, p, p, p] }),
    }, seed);
  }
});

test('Conv: grouped, and dynamic batch/spatial sizes', async () => {
  await checkGrad({
    dtype: 'float32', tol: TOL32, samples: 8,
    inputs: { x: { dims: [2, 4, 6, 6] }, w: { dims: [6, 2, 3, 3] } },
    build: (g, x) => g.conv(x.x, x.w, undefined, { group: 2, pads: [1, 1, 1, 1], strides: [2, 2] }),
  });
  await checkGrad({
    dtype: 'float32', tol: TOL32, samples: 8,
    inputs: { x: { dims: [2, 3, 7, 7], symbolic: ['n', 3, 'h', 'w'] }, w: { dims: [4, 3, 3, 3] } },
    build: (g, x) => g.conv(x.x, x.w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }),
  });
});

test('LayerNormalization (float64) over the last axis and the last two', async () => {
  for (const axis of [-1, 1]) {
    await checkGrad({
      dtype: 'float64', tol: TOL64,
      inputs: { x: { dims: [2, 3, 5] }, s: { dims: axis === -1 ? [5] : [3, 5] }, b: { dims: axis === -1 ? [5] : [3, 5] } },
      build: (g, x) => g.layerNorm(x.x, x.s, x.b, { axis }),
    });
  }
});

// ORT's opset-21 GroupNormalization computes in float32 even for double inputs (its outputs carry float32
// precision), so that opset is checked in float32.
test('GroupNormalization at opsets 18 (per-group affine, float64) and 21 (per-channel, float32)', async () => {
  for (const opset of [18, 21]) {
    await checkGrad({
      dtype: opset === 18 ? 'float64' : 'float32', tol: opset === 18 ? TOL64 : TOL32, opset,
      inputs: { x: { dims: [2, 4, 3, 3] }, s: { dims: [opset === 18 ? 2 : 4] }, b: { dims: [opset === 18 ? 2 : 4] } },
      build: (g, x) => g.node('GroupNormalization', [x.x, x.s, x.b], { num_groups: 2, epsilon: { float: 1e-5 } })[0],
    });
  }
});

test('InstanceNormalization and the builder groupNorm (Reshape + InstanceNormalization + affine)', async () => {
  await checkGrad({
    dtype: 'float32', tol: TOL32, samples: 8,
    inputs: { x: { dims: [2, 3, 4, 4] }, s: { dims: [3] }, b: { dims: [3] } },
    build: (g, x) => g.instanceNorm(x.x, x.s, x.b),
  });
  await checkGrad({
    dtype: 'float32', tol: TOL32, samples: 8,
    inputs: { x: { dims: [2, 4, 3, 3] }, s: { dims: [4] }, b: { dims: [4] } },
    build: (g, x) => g.groupNorm(x.x, 2, x.s, x.b),
  });
});

test('Resize nearest 2x upsample, Erf and GELU (float32)', async () => {
  await checkGrad({ dtype: 'float32', tol: TOL32, inputs: { x: { dims: [1, 2, 3, 3] } }, build: (g, x) => g.upsample2x(x.x) });
  await checkGrad({ dtype: 'float32', tol: TOL32, inputs: { x: { dims: [3, 4] } }, build: (g, x) => g.add(g.gelu(x.x), g.unary('Gelu', x.x)) });
});

test('ConvTranspose (stride 2, output_padding, groups) and AveragePool (float32)', async () => {
  await checkGrad({
    dtype: 'float32', tol: TOL32, samples: 8,
    inputs: { x: { dims: [2, 4, 3, 3] }, w: { dims: [4, 3, 3, 3] }, b: { dims: [6] } },
    build: (g, x) => g.convTranspose(x.x, x.w, x.b, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1], group: 2 }),
  });
  await checkGrad({
    dtype: 'float32', tol: TOL32, inputs: { x: { dims: [2, 3, 6, 6] } },
    build: (g, x) => g.node('AveragePool', [x.x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })[0],
  });
});

// MaxPool's gradient is discontinuous where two window elements tie: the inputs are distinct values
// spaced 0.05 apart (more than 2h), so no central difference crosses a tie.
const spaced = (n: number) => Array.from({ length: n }, (_, i) => ((i * 37) % n) * 0.05 - n * 0.025);
test('MaxPool (float32; the forward node is given its Indices output)', async () => {
  await checkGrad({
    dtype: 'float32', tol: TOL32, inputs: { x: { dims: [2, 3, 6, 6], data: spaced(216) } },
    build: (g, x) => g.node('MaxPool', [x.x], { kernel_shape: [2, 2], strides: [2, 2] })[0],
  });
  await checkGrad({
    dtype: 'float32', tol: TOL32, inputs: { x: { dims: [1, 2, 5, 5], symbolic: ['n', 2, 'h', 'w'], data: spaced(50) } },
    build: (g, x) => g.node('MaxPool', [x.x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })[0],
  });
});
