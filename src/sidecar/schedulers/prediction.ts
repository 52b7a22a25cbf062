/**
 * Prediction-type conversions, the one place they are written. A UNet's output means one of three
 * things (diffusers' `prediction_type`): the noise eps ('epsilon'), the clean sample x0 ('sample'), or
 * v ('v_prediction'). Schedulers, previews, distillation targets and Imagic's training targets all
 * convert through here.
 *
 * Glossary, variance-preserving view (Ho et al. 2020, eq. 4):
 *   x_t = alpha x0 + sigma eps,   alpha = sqrt(aBar_t), sigma = sqrt(1 - aBar_t), alpha^2 + sigma^2 = 1
 *   v   = alpha eps - sigma x0    (Salimans & Ho 2022, section 4), so
 *   x0  = alpha x_t - sigma v,    eps = sigma x_t + alpha v
 * Variance-exploding view (Karras et al. 2022): x = x0 + sigma_VE eps, and the UNet saw x / sqrt(sigma_VE^2 + 1).
 */
import type { PredictionType } from './config';
import { combine, type Latents } from './types';

/** One noise level of the variance-preserving view. */
export interface Level {
  alpha: number;
  sigma: number;
}

/** Coefficients [of x_t, of the output] giving x0 and eps; null where it is the output itself. */
interface SplitRule {
  x0: readonly [number, number] | null;
  eps: readonly [number, number] | null;
}

function splitRule(kind: PredictionType, l: Level): SplitRule {
  const { alpha: a, sigma: b } = l;
  switch (kind) {
    case 'epsilon': // x0 = (x_t - sigma eps) / alpha
      return { x0: [1 / a, -b / a], eps: null };
    case 'v_prediction':
      return { x0: [a, -b], eps: [b, a] };
    case 'sample': // eps = (x_t - alpha x0) / sigma
      return { x0: null, eps: [1 / b, -a / b] };
  }
}

/** x0 and eps for a whole array at one level aBar (schedulers, previews). */
export function splitPredictionVp(kind: PredictionType, output: Float32Array, sample: Float32Array, alphaBar: number): { x0: Latents; eps: Latents } {
  const rule = splitRule(kind, { alpha: Math.sqrt(alphaBar), sigma: Math.sqrt(1 - alphaBar) });
  const apply = (c: readonly [number, number] | null) => (c ? combine(c[0], sample, c[1], output) : output.slice());
  return { x0: apply(rule.x0), eps: apply(rule.eps) };
}

/** x0 and eps for one element at level l, in float64 (distillation's per-row steps). */
export function splitPrediction(kind: PredictionType, out: number, z: number, l: Level): { x: number; eps: number } {
  const rule = splitRule(kind, l);
  return {
    x: rule.x0 ? rule.x0[0] * z + rule.x0[1] * out : out,
    eps: rule.eps ? rule.eps[0] * z + rule.eps[1] * out : out,
  };
}

/** The output a model of this parameterisation should give at x_t = z to mean clean sample x. */
export function predictionFor(kind: PredictionType, x: number, z: number, l: Level): number {
  switch (kind) {
    case 'v_prediction': // v = (alpha x_t - x0) / sigma
      return (l.alpha * z - x) / l.sigma;
    case 'epsilon':
      return (z - l.alpha * x) / l.sigma;
    case 'sample':
      return x;
  }
}

/** The output a model should give for x_t = alpha x0 + sigma eps (the regression target of training). */
export function predictionTarget(kind: PredictionType, x0: number, eps: number, l: Level): number {
  switch (kind) {
    case 'v_prediction':
      return l.alpha * eps - l.sigma * x0;
    case 'epsilon':
      return eps;
    case 'sample':
      return x0;
  }
}

/**
 * x0 in the variance-exploding view used by Euler and DPM-Solver++ (Karras et al. 2022): with
 * aBar = 1 / (sigma^2 + 1) the v identity above reads x0 = x / (sigma^2 + 1) - sigma / sqrt(sigma^2 + 1) v.
 */
export function predictX0Ve(kind: PredictionType, output: Float32Array, sample: Float32Array, sigma: number): Latents {
  const c = sigma * sigma + 1;
  if (kind === 'epsilon') return combine(1, sample, -sigma, output);
  if (kind === 'v_prediction') return combine(1 / c, sample, -sigma / Math.sqrt(c), output);
  return output.slice();
}
