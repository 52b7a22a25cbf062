/**
 * Samplers in the variance-exploding view of Karras et al. 2022 ("EDM"): the sample is x = x0 + sigma eps
 * with sigma_t = sqrt((1 - aBar_t) / aBar_t), the UNet sees x / sqrt(sigma^2 + 1) (the variance-preserving
 * x_t it was trained on), and each sampler is a few lines over the sigma list (k-diffusion's shape).
 * sigmas has one more entry than timesteps: the final sigma (0, or sigma_min for Euler's
 * final_sigmas_type). They follow diffusers' Euler, Euler ancestral, LMS and Heun discrete schedulers:
 * float timesteps (linspace spacing is not rounded), sigmas interpolated linearly in the training table,
 * Karras sigmas between the ends of that list (Euler: or config sigma_min / sigma_max) with their
 * fractional timesteps, initNoiseSigma = max sigma (sqrt(max^2 + 1) for leading spacing).
 *
 * Glossary: sigma = sigmas[i], sigmaNext = sigmas[i+1], x0 = denoised (the model's clean estimate),
 * d = (x - x0) / sigma, the ODE derivative dx/dsigma (Karras et al. 2022, eq. 3 with sigma(t) = t).
 */
import { classDefault, refuseUnsupported, SchedulerConfigError, type SchedulerConfig } from './config';
import { alphaBarFor, interpAt, karrasSigmas, scheduleKey, sigmasFromAlphaBar, sigmaToTimestep, spacedTimesteps } from './noise-schedule';
import { addScaledNoise, requireNoise } from './ddim';
import { predictX0Ve } from './prediction';
import { clipInPlace, combine, type Latents, type NormalSource, type Scheduler, type SchedulerName } from './types';
import { samplerLabel, type SamplerId } from '../../protocol/samplers';

const sigmaTables = new Map<string, Float64Array>();

/** sigma_t for every training timestep, memoised per noise schedule (a scheduler is made per batch; read-only). */
export function sigmaTableFor(config: SchedulerConfig): Float64Array {
  const key = scheduleKey(config);
  let table = sigmaTables.get(key);
  if (!table) {
    const alphaBar = alphaBarFor(config);
    // A zero-SNR schedule ends at aBar = 0, an infinite sigma; diffusers clamps it to 2^-24 the same way.
    if (alphaBar[alphaBar.length - 1] === 0) alphaBar[alphaBar.length - 1] = 2 ** -24;
    sigmaTables.set(key, (table = sigmasFromAlphaBar(alphaBar)));
  }
  return table;
}

/** The A1111 name of a sampler, with " Karras" when Karras sigmas are on and the name does not say so. */
export function labelWithKarras(id: SamplerId, karras: boolean): string {
  const label = samplerLabel(id);
  return karras && !label.includes('Karras') ? `${label} Karras` : label;
}

abstract class VeScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  abstract readonly displayName: string;
  /** sigma_t for every training timestep. */
  readonly sigmaTable: Float64Array;
  timesteps: number[] = [];
  sigmas: number[] = [];

  /** `karras`: use Karras sigmas; `readsSigmaRange`: the class reads config sigma_min/sigma_max (Euler). */
  constructor(readonly config: SchedulerConfig, readonly karras: boolean, private readonly readsSigmaRange = false) {
    this.sigmaTable = sigmaTableFor(config);
  }

  get initNoiseSigma(): number {
    const max = Math.max(...this.sigmas);
    // As in diffusers: the leading spacing never starts at the noisiest sigma, so it uses the VP variance.
    return classDefault(this.config.timestep_spacing, 'linspace') === 'leading' ? Math.sqrt(max * max + 1) : max;
  }

  /** The final sigma after the last step (0 unless Euler's final_sigmas_type says sigma_min). */
  protected finalSigma(): number {
    return 0;
  }

  setTimesteps(n: number): void {
    const spacing = classDefault(this.config.timestep_spacing, 'linspace');
    let ts = spacedTimesteps(this.config.num_train_timesteps, n, spacing, this.config.steps_offset, false);
    let sigmas = ts.map((t) => interpAt(this.sigmaTable, t));
    if (this.karras) {
      const lo = (this.readsSigmaRange ? this.config.sigma_min : null) ?? sigmas[sigmas.length - 1];
      const hi = (this.readsSigmaRange ? this.config.sigma_max : null) ?? sigmas[0];
      sigmas = karrasSigmas(lo, hi, n);
      ts = sigmas.map((s) => sigmaToTimestep(this.sigmaTable, s));
    }
    this.timesteps = ts;
    this.sigmas = [...sigmas, this.finalSigma()];
    this.reset();
  }

  /** Clears multistep state; called by setTimesteps. */
  protected reset(): void {}

  scaleModelInput(sample: Float32Array, i: number): Latents {
    return combine(1 / Math.sqrt(this.sigmaAt(i) ** 2 + 1), sample, 0, sample);
  }

  addNoise(original: Float32Array, noise: Float32Array, i: number): Latents {
    return combine(1, original, this.sigmaAt(i), noise);
  }

  protected sigmaAt(i: number): number {
    const s = this.sigmas[i];
    if (s === undefined || i >= this.timesteps.length) {
      throw new Error(`step ${i} is outside the ${this.timesteps.length} steps set`);
    }
    return s;
  }

  protected denoised(modelOutput: Float32Array, sample: Float32Array, sigma: number): Latents {
    return predictX0Ve(this.config.prediction_type, modelOutput, sample, sigma);
  }

  abstract step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents;
}

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 1 without churn). The ids
 * euler and euler_karras share it; euler also honours use_karras_sigmas in a config (diffusers does).
 */
export class EulerScheduler extends VeScheduler {
  readonly name: 'euler' | 'euler_karras';
  readonly displayName: string;

  constructor(config: SchedulerConfig, karras = config.use_karras_sigmas) {
    super(config, karras, true);
    refuseUnsupported(config, 'Euler', ['interpolation_type', 'use_exponential_sigmas', 'use_beta_sigmas']);
    this.name = karras ? 'euler_karras' : 'euler';
    this.displayName = samplerLabel(this.name);
  }

  protected override finalSigma(): number {
    return this.config.final_sigmas_type === 'sigma_min' ? this.sigmaTable[0] : 0;
  }

  override setTimesteps(n: number): void {
    super.setTimesteps(n);
    // timestep_type "continuous" with v-prediction: the UNet takes c_noise = 0.25 log(sigma) (Karras et al. 2022, table 1).
    if (this.config.timestep_type === 'continuous' && this.config.prediction_type === 'v_prediction') {
      this.timesteps = this.sigmas.slice(0, -1).map((s) => 0.25 * Math.log(s));
    }
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const sigma = this.sigmaAt(i);
    const x0 = this.denoised(modelOutput, sample, sigma);
    const dt = this.sigmas[i + 1] - sigma;
    // x + dt (x - x0) / sigma, written as one linear combination of x and x0.
    return combine(1 + dt / sigma, sample, -dt / sigma, x0);
  }
}

/**
 * Euler ancestral: an Euler step down to sigmaDown, then fresh noise of size sigmaUp, chosen so that
 * sigmaDown^2 + sigmaUp^2 = sigmaNext^2 (k-diffusion's get_ancestral_step, eta = 1; the DDPM
 * ancestral split of Ho et al. 2020 in sigma form). Like diffusers, it ignores use_karras_sigmas.
 */
export class EulerAncestralScheduler extends VeScheduler {
  readonly name = 'euler_a' as const;
  readonly displayName = samplerLabel(this.name);

  constructor(config: SchedulerConfig) {
    super(config, false);
    if (config.prediction_type === 'sample') throw new SchedulerConfigError('scheduler_config.json: the Euler a scheduler takes epsilon or v_prediction models, not prediction_type "sample" (as diffusers)');
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const sigma = this.sigmaAt(i);
    const x0 = this.denoised(modelOutput, sample, sigma);
    const next = this.sigmas[i + 1];
    const sigmaUp = Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma));
    const sigmaDown = Math.sqrt(next * next - sigmaUp * sigmaUp);
    const dt = sigmaDown - sigma;
    const out = combine(1 + dt / sigma, sample, -dt / sigma, x0);
    if (sigmaUp > 0) addScaledNoise(out, sigmaUp, requireNoise(noise, this.name));
    return out;
  }
}

/**
 * LMS: the linear multistep method (Adams-Bashforth) of order up to 4 on the probability-flow ODE in
 * sigma (Karras et al. 2022, eq. 3; k-diffusion's sample_lms): x_next = x + sum_j c_j d_{i-j}, where c_j is
 * the integral over [sigma_i, sigma_{i+1}] of the Lagrange basis polynomial through sigma_i ... sigma_{i-order+1}
 * (computed exactly by 4-point Gauss-Legendre: the polynomials have degree <= 3).
 */
export class LmsScheduler extends VeScheduler {
  readonly name = 'lms' as const;
  readonly displayName: string;
  private derivatives: Float32Array[] = [];

  constructor(config: SchedulerConfig, readonly maxOrder = 4) {
    super(config, config.use_karras_sigmas);
    refuseUnsupported(config, 'LMS', ['use_exponential_sigmas', 'use_beta_sigmas', 'rescale_betas_zero_snr']);
    this.displayName = labelWithKarras(this.name, this.karras);
  }

  protected override reset(): void {
    this.derivatives = [];
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const sigma = this.sigmaAt(i);
    const x0 = this.denoised(modelOutput, sample, sigma);
    this.derivatives = [...this.derivatives.slice(-(this.maxOrder - 1)), combine(1 / sigma, sample, -1 / sigma, x0)];
    const order = Math.min(i + 1, this.maxOrder);
    const out = sample.slice();
    for (let j = 0; j < order; j++) {
      const c = this.lmsCoefficient(order, i, j);
      const d = this.derivatives[this.derivatives.length - 1 - j];
      for (let k = 0; k < out.length; k++) out[k] += c * d[k];
    }
    return out;
  }

  /** Integral from sigma_i to sigma_{i+1} of prod_{k != j} (tau - sigma_{i-k}) / (sigma_{i-j} - sigma_{i-k}). */
  private lmsCoefficient(order: number, i: number, j: number): number {
    const s = this.sigmas;
    const basis = (tau: number) => {
      let p = 1;
      for (let k = 0; k < order; k++) if (k !== j) p *= (tau - s[i - k]) / (s[i - j] - s[i - k]);
      return p;
    };
    return gaussLegendre4(basis, s[i], s[i + 1]);
  }
}

/** 4-point Gauss-Legendre quadrature: exact for polynomials of degree <= 7. */
function gaussLegendre4(f: (x: number) => number, a: number, b: number): number {
  const x1 = Math.sqrt(3 / 7 - (2 / 7) * Math.sqrt(6 / 5));
  const x2 = Math.sqrt(3 / 7 + (2 / 7) * Math.sqrt(6 / 5));
  const w1 = (18 + Math.sqrt(30)) / 36;
  const w2 = (18 - Math.sqrt(30)) / 36;
  const mid = (a + b) / 2;
  const half = (b - a) / 2;
  return half * (w1 * (f(mid - half * x1) + f(mid + half * x1)) + w2 * (f(mid - half * x2) + f(mid + half * x2)));
}

/**
 * Heun's method (Karras et al. 2022, Algorithm 1, churn 0): an Euler step to sigmaNext, then a second
 * model evaluation there and the trapezoidal average of the two derivatives; the last step (to sigma 0)
 * is a plain Euler step. Two model evaluations per step, so `timesteps` (and the step index) run over
 * 2n - 1 evaluations: [t0, t1, t1, ..., t_{n-1}, t_{n-1}], as diffusers' HeunDiscreteScheduler.
 */
export class HeunScheduler extends VeScheduler {
  readonly name = 'heun' as const;
  readonly displayName: string;
  readonly order = 2;
  private first: { d: Float32Array; dt: number; sample: Float32Array } | null = null;

  constructor(config: SchedulerConfig) {
    super(config, config.use_karras_sigmas);
    refuseUnsupported(config, 'Heun', ['use_exponential_sigmas', 'use_beta_sigmas', 'rescale_betas_zero_snr']);
    this.displayName = labelWithKarras(this.name, this.karras);
  }

  override setTimesteps(n: number): void {
    super.setTimesteps(n);
    const s = this.sigmas;
    const t = this.timesteps;
    this.sigmas = [s[0], ...s.slice(1, -1).flatMap((v) => [v, v]), s[s.length - 1]];
    this.timesteps = [t[0], ...t.slice(1).flatMap((v) => [v, v])];
  }

  protected override reset(): void {
    this.first = null;
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const clip = classDefault(this.config.clip_sample, false);
    if (this.first === null) {
      // 1. Euler predictor: d = (x - x0) / sigma, x_next = x + (sigmaNext - sigma) d.
      const sigma = this.sigmaAt(i);
      const x0 = this.denoised(modelOutput, sample, sigma);
      if (clip) clipInPlace(x0, this.config.clip_sample_range);
      const d = combine(1 / sigma, sample, -1 / sigma, x0);
      const dt = this.sigmas[i + 1] - sigma;
      this.first = { d, dt, sample: sample.slice() };
      return combine(1, sample, dt, d);
    }
    // 2. Corrector at sigmaNext: the average of both derivatives, from the step's starting sample.
    const sigmaNext = this.sigmaAt(i);
    const x0 = this.denoised(modelOutput, sample, sigmaNext);
    if (clip) clipInPlace(x0, this.config.clip_sample_range);
    const d2 = combine(1 / sigmaNext, sample, -1 / sigmaNext, x0);
    const { d, dt, sample: start } = this.first;
    this.first = null;
    const out = start.slice();
    for (let k = 0; k < out.length; k++) out[k] += ((d[k] + d2[k]) / 2) * dt;
    return out;
  }
}
