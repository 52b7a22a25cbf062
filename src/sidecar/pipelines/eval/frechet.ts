/**
 * The Fréchet distance between two Gaussians fitted to feature sets (Heusel et al., 2017, the FID):
 *   d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).
 * Tr((S1 S2)^(1/2)) is computed as Tr((A S2 A)^(1/2)) with A = S1^(1/2): A S2 A is symmetric positive
 * semi-definite and has the same eigenvalues as S1 S2, so two symmetric eigendecompositions (cyclic
 * Jacobi, in float64) do the job with no general matrix square root.
 */

export interface Gaussian {
  dim: number;
  mean: Float64Array;
  /** Covariance, row-major dim x dim (unbiased, n - 1). */
  cov: Float64Array;
}

/** Mean and covariance of `n` feature rows of length `dim`. */
export function fitGaussian(features: Float32Array | Float64Array, n: number, dim: number): Gaussian {
  if (n < 2) throw new Error('fitGaussian needs at least 2 samples');
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  const d = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) d[j] = features[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) for (let b = a; b < dim; b++) cov[a * dim + b] += d[a] * d[b];
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      cov[a * dim + b] /= n - 1;
      cov[b * dim + a] = cov[a * dim + b];
    }
  }
  return { dim, mean, cov };
}

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        // Rotation angle that zeroes a[p][q] (Golub & Van Loan, alg. 8.4.1).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** Square root of a symmetric PSD matrix (negative rounding noise in eigenvalues clamped to 0). */
function sqrtPsd(m: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] += vectors[i * n + k] * s * vectors[j * n + k];
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const aik = a[i * n + k];
    for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
  }
  return out;
}

/** |mu1 - mu2|^2: the mean term of the Fréchet distance (the rest compares the covariances). */
export function meanTerm(g1: Gaussian, g2: Gaussian): number {
  let d2 = 0;
  for (let i = 0; i < g1.dim; i++) d2 += (g1.mean[i] - g2.mean[i]) ** 2;
  return d2;
}

/** d^2 between two Gaussians (the number FID reports). */
export function frechetDistance(g1: Gaussian, g2: Gaussian): number {
  const n = g1.dim;
  if (g2.dim !== n) throw new Error(`feature sizes differ: ${n} and ${g2.dim}`);
  const d2 = meanTerm(g1, g2);
  let tr = 0;
  for (let i = 0; i < n; i++) tr += g1.cov[i * n + i] + g2.cov[i * n + i];
  const a = sqrtPsd(g1.cov, n);
  const middle = matmul(matmul(a, g2.cov, n), a, n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { // symmetrise rounding error
    const m = (middle[i * n + j] + middle[j * n + i]) / 2;
    middle[i * n + j] = m;
    middle[j * n + i] = m;
  }
  const { values } = symmetricEigen(middle, n);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(v, 0));
  return d2 + tr - 2 * trSqrt;
}
