import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitGaussian, frechetDistance, symmetricEigen } from '../../../src/sidecar/pipelines/eval/frechet';

function gaussianSamples(n: number, dim: number, mean: number[], std: number[], seed: number): Float64Array {
  let s = seed;
  const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return (s + 1) / 2147483649; };
  const out = new Float64Array(n * dim);
  for (let i = 0; i < n * dim; i++) {
    const z = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    out[i] = mean[i % dim] + std[i % dim] * z;
  }
  return out;
}

test('eigenvalues of a known symmetric matrix', () => {
  const { values } = symmetricEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
  assert.deepEqual([...values].sort((a, b) => a - b).map((v) => +v.toFixed(9)), [1, 3, 5]);
});

test('the distance of a Gaussian to itself is 0', () => {
  const g = fitGaussian(gaussianSamples(500, 4, [0, 1, 2, 3], [1, 2, 0.5, 1], 1), 500, 4);
  assert.ok(Math.abs(frechetDistance(g, g)) < 1e-8);
});

test('diagonal Gaussians match the closed form |dmu|^2 + sum (s1 - s2)^2', () => {
  const a = { dim: 2, mean: Float64Array.from([0, 0]), cov: Float64Array.from([1, 0, 0, 4]) };
  const b = { dim: 2, mean: Float64Array.from([3, 0]), cov: Float64Array.from([4, 0, 0, 1]) };
  // |dmu|^2 = 9; sqrt-cov differences: (1 - 2)^2 + (2 - 1)^2 = 2.
  assert.ok(Math.abs(frechetDistance(a, b) - 11) < 1e-9);
});

test('a shifted sample set is farther than a fresh sample of the same distribution', () => {
  const std = [1, 1, 1];
  const p = fitGaussian(gaussianSamples(2000, 3, [0, 0, 0], std, 2), 2000, 3);
  const q = fitGaussian(gaussianSamples(2000, 3, [0, 0, 0], std, 3), 2000, 3);
  const r = fitGaussian(gaussianSamples(2000, 3, [1, 0, 0], std, 4), 2000, 3);
  assert.ok(frechetDistance(p, q) < 0.05);
  assert.ok(Math.abs(frechetDistance(p, r) - 1) < 0.15);
});
