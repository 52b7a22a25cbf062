/**
 * The training noise schedule shared by every scheduler: betas, cumulative alphas (alpha-bar), the
 * matching sigmas of the variance-exploding view, and how inference timesteps are spaced over the
 * training range. All in float64; the latents themselves are float32.
 *
 * Notation: beta_t (noise added at step t), alpha_t = 1 - beta_t, alphaBar_t = prod_{s<=t} alpha_s
 * (Ho et al. 2020, eq. 4), sigma_t = sqrt((1 - alphaBar_t) / alphaBar_t) (Karras et al. 2022, VE view).
 */
import type { SchedulerConfig, TimestepSpacing } from './config';

/** numpy.linspace, computed as numpy does (i * step + start, the last point exactly `end`), so rounding agrees. */
export function linspace(start: number, end: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (end - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? end : i * step + start));
}

/** Betas for the configured schedule (diffusers' names); a config's own `trained_betas` win (diffusers' rule). */
export function betasFor(config: SchedulerConfig): Float64Array {
  const T = config.num_train_timesteps;
  if (config.trained_betas) return Float64Array.from(config.trained_betas);
  switch (config.beta_schedule) {
    case 'linear':
      return Float64Array.from(linspace(config.beta_start, config.beta_end, T));
    case 'scaled_linear':
      // Stable Diffusion's schedule: linear in sqrt(beta).
      return Float64Array.from(linspace(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), T), (b) => b * b);
    case 'squaredcos_cap_v2':
      return cosineBetas(T);
  }
}

/** Nichol & Dhariwal 2021, eq. 17: alphaBar(t) = cos^2(((t/T + s) / (1 + s)) * pi/2), s = 0.008, beta <= 0.999. */
function cosineBetas(T: number): Float64Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  return Float64Array.from({ length: T }, (_, i) => Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), 0.999));
}

export function cumulativeAlphas(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let prod = 1;
  for (let i = 0; i < betas.length; i++) out[i] = prod *= 1 - betas[i];
  return out;
}

/**
 * Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1: shift and
 * scale sqrt(alphaBar) so the last timestep has zero signal (SNR 0), keeping the first one unchanged.
 */
export function rescaleZeroTerminalSnr(alphaBar: Float64Array): Float64Array {
  const s = Array.from(alphaBar, Math.sqrt);
  const first = s[0];
  const last = s[s.length - 1];
  return Float64Array.from(s, (v) => ((v - last) * first) / (first - last)).map((v) => v * v);
}

const alphaBarCache = new Map<string, Float64Array>();

/** What determines the training noise schedule (the memo key of alphaBarFor and the sigma tables). */
export function scheduleKey(config: SchedulerConfig): string {
  return JSON.stringify([config.num_train_timesteps, config.beta_start, config.beta_end, config.beta_schedule, config.rescale_betas_zero_snr, config.trained_betas]);
}

/**
 * alphaBar for a config, with the zero-SNR rescale applied when asked for. Memoised (a scheduler is made
 * per batch); the caller gets its own copy, free to modify.
 */
export function alphaBarFor(config: SchedulerConfig): Float64Array {
  const key = scheduleKey(config);
  let a = alphaBarCache.get(key);
  if (!a) {
    a = cumulativeAlphas(betasFor(config));
    if (config.rescale_betas_zero_snr) a = rescaleZeroTerminalSnr(a);
    alphaBarCache.set(key, a);
  }
  return a.slice();
}

/**
 * Inference timesteps, noisiest first, as in diffusers (table 2 of Lin et al. 2024 names the three):
 * - linspace: evenly from 0 to T-1 inclusive;
 * - leading:  multiples of floor(T/n), plus steps_offset (SD 1.x uses offset 1);
 * - trailing: evenly down from T-1, so the first step always starts from the noisiest timestep.
 * Values may be fractional for linspace; `round` gives the integer timesteps DDPM/DDIM index with.
 */
export function spacedTimesteps(
  T: number,
  n: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
  round: boolean,
): number[] {
  if (!Number.isInteger(n) || n < 1 || n > T) {
    throw new Error(`the number of steps must be an integer from 1 to ${T}, got ${n}`);
  }
  let ts: number[];
  if (spacing === 'linspace') {
    ts = linspace(0, T - 1, n).reverse();
    if (round) ts = ts.map(roundHalfEven);
  } else if (spacing === 'leading') {
    const ratio = Math.floor(T / n);
    ts = Array.from({ length: n }, (_, i) => i * ratio + stepsOffset).reverse();
  } else {
    const ratio = T / n;
    ts = Array.from({ length: n }, (_, i) => roundHalfEven(T - i * ratio) - 1);
  }
  return ts;
}

/**
 * The timesteps of diffusers' multistep solvers (DPMSolverMultistep, UniPC): linspace and leading space
 * n + 1 points over the training range and drop the last (the one at 0), so the final step lands on
 * sigma 0 from a timestep above 0; trailing is as above. Integers, noisiest first.
 */
export function solverTimesteps(T: number, n: number, spacing: TimestepSpacing, stepsOffset: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > T) {
    throw new Error(`the number of steps must be an integer from 1 to ${T}, got ${n}`);
  }
  if (spacing === 'linspace') return linspace(0, T - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
  if (spacing === 'leading') {
    const ratio = Math.floor(T / (n + 1));
    return Array.from({ length: n + 1 }, (_, i) => i * ratio).reverse().slice(0, n).map((t) => t + stepsOffset);
  }
  return spacedTimesteps(T, n, 'trailing', stepsOffset, true);
}

/** numpy's round(): halves go to the even neighbour. Keeps our timesteps equal to diffusers'. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** sigma_t = sqrt((1 - alphaBar_t) / alphaBar_t) for every training timestep. */
export function sigmasFromAlphaBar(alphaBar: Float64Array): Float64Array {
  return Float64Array.from(alphaBar, (a) => Math.sqrt((1 - a) / a));
}

/** Linear interpolation of a per-timestep table at a (possibly fractional) timestep (numpy.interp). */
export function interpAt(table: Float64Array, t: number): number {
  if (t <= 0) return table[0];
  if (t >= table.length - 1) return table[table.length - 1];
  const lo = Math.floor(t);
  const w = t - lo;
  return table[lo] * (1 - w) + table[lo + 1] * w;
}

/**
 * The (fractional) training timestep whose sigma is `sigma`, interpolating linearly in log(sigma)
 * between the two neighbouring table entries (diffusers' `_sigma_to_t`, k-diffusion's `sigma_to_t`).
 */
export function sigmaToTimestep(sigmaTable: Float64Array, sigma: number): number {
  const logSigma = Math.log(sigma);
  const n = sigmaTable.length;
  let lo = 0;
  for (let i = 0; i < n; i++) if (Math.log(sigmaTable[i]) <= logSigma) lo = i;
  lo = Math.min(lo, n - 2);
  const a = Math.log(sigmaTable[lo]);
  const b = Math.log(sigmaTable[lo + 1]);
  const w = Math.min(Math.max((a - logSigma) / (a - b), 0), 1);
  return (1 - w) * lo + w * (lo + 1);
}

/** Karras et al. 2022, eq. 5: sigma_i = (sigmaMax^(1/rho) + i/(n-1) (sigmaMin^(1/rho) - sigmaMax^(1/rho)))^rho, rho = 7. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}
