/**
 * Samplers in the variance-exploding view of Karras et al. 2022 ("EDM"): the sample is x = x0 + sigma eps
 * with sigma_t = sqrt((1 - aBar_t) / aBar_t), the UNet sees x / sqrt(sigma^2 + 1) (which is the
 * variance-preserving x_t it was trained on), and each sampler is a few lines over the sigma list
 * (k-diffusion's shape). sigmas has one more entry than timesteps: the final 0.
 *
 * Glossary: sigma = sigmas[i], sigmaNext = sigmas[i+1], x0 = denoised (the model's clean estimate),
 * d = (x - x0) / sigma, the ODE derivative dx/dsigma (Karras et al. 2022, eq. 3 with sigma(t) = t).
 */
import type { SchedulerConfig } from './config';
import {
  alphaBarFor,
  interpAt,
  karrasSigmas,
  sigmasFromAlphaBar,
  sigmaToTimestep,
  spacedTimesteps,
} from './noise-schedule';
import { addScaledNoise, requireNoise } from './ddim';
import { predictX0Ve } from './prediction';
import { combine, type Latents, type NormalSource, type Scheduler, type SchedulerName } from './types';
import { samplerLabel } from '../../protocol/samplers';

const sigmaTables = new Map<string, Float64Array>();

/** sigma_t for every training timestep, memoised per noise schedule (a scheduler is made per batch; read-only). */
function sigmaTableFor(config: SchedulerConfig): Float64Array {
  const key = JSON.stringify([config.num_train_timesteps, config.beta_start, config.beta_end, config.beta_schedule, config.rescale_betas_zero_snr]);
  let table = sigmaTables.get(key);
  if (!table) {
    const alphaBar = alphaBarFor(config);
    // A zero-SNR schedule ends at aBar = 0, an infinite sigma; diffusers clamps it to 2^-24 the same way.
    if (alphaBar[alphaBar.length - 1] === 0) alphaBar[alphaBar.length - 1] = 2 ** -24;
    sigmaTables.set(key, (table = sigmasFromAlphaBar(alphaBar)));
  }
  return table;
}

abstract class VeScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  abstract readonly displayName: string;
  /** sigma_t for every training timestep. */
  readonly sigmaTable: Float64Array;
  timesteps: number[] = [];
  sigmas: number[] = [];

  constructor(readonly config: SchedulerConfig, readonly karras = config.use_karras_sigmas) {
    this.sigmaTable = sigmaTableFor(config);
  }

  get initNoiseSigma(): number {
    const max = Math.max(...this.sigmas);
    const spacing = this.config.timestep_spacing ?? 'linspace';
    // As in diffusers: the leading spacing never starts at the noisiest sigma, so it uses the VP variance.
    return spacing === 'leading' ? Math.sqrt(max * max + 1) : max;
  }

  setTimesteps(n: number): void {
    const spacing = this.config.timestep_spacing ?? 'linspace';
    const T = this.config.num_train_timesteps;
    let ts = spacedTimesteps(T, n, spacing, this.config.steps_offset, false);
    let sigmas = ts.map((t) => interpAt(this.sigmaTable, t));
    if (this.karras) {
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], n);
      ts = sigmas.map((s) => sigmaToTimestep(this.sigmaTable, s));
    }
    this.timesteps = ts;
    this.sigmas = [...sigmas, 0];
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

  protected denoised(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    return predictX0Ve(this.config.prediction_type, modelOutput, sample, this.sigmaAt(i));
  }

  abstract step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents;
}

/** Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 1 without churn). */
export class EulerScheduler extends VeScheduler {
  readonly name = 'euler' as const;
  readonly displayName = samplerLabel(this.name);

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const x0 = this.denoised(modelOutput, i, sample);
    const sigma = this.sigmas[i];
    const dt = this.sigmas[i + 1] - sigma;
    // x + dt (x - x0) / sigma, written as one linear combination of x and x0.
    return combine(1 + dt / sigma, sample, -dt / sigma, x0);
  }
}

/**
 * Euler ancestral: an Euler step down to sigmaDown, then fresh noise of size sigmaUp, chosen so that
 * sigmaDown^2 + sigmaUp^2 = sigmaNext^2 (k-diffusion's get_ancestral_step, eta = 1; the DDPM
 * ancestral split of Ho et al. 2020 in sigma form).
 */
export class EulerAncestralScheduler extends VeScheduler {
  readonly name = 'euler_a' as const;
  readonly displayName = samplerLabel(this.name);

  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const x0 = this.denoised(modelOutput, i, sample);
    const sigma = this.sigmas[i];
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
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2), in the sigma parameterisation:
 * with lambda = -log(sigma) (half the log-SNR) and h = lambda_next - lambda,
 *   x_next = (sigmaNext / sigma) x - expm1(-h) D,
 * where D = x0 for the first step (and for the last, where sigmaNext = 0: "lower order final"), and
 * otherwise the second-order multistep correction D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev, r = h_prev / h.
 * This is the same update as diffusers' DPMSolverMultistepScheduler (data prediction, midpoint) since
 * x_VE = x_VP / alpha.
 */
export class DpmSolverMultistepScheduler extends VeScheduler {
  readonly name: 'dpmpp_2m' | 'dpmpp_2m_karras';
  readonly displayName: string;
  private previousX0: Latents | null = null;

  constructor(config: SchedulerConfig, karras = config.use_karras_sigmas) {
    super(config, karras);
    this.name = karras ? 'dpmpp_2m_karras' : 'dpmpp_2m';
    this.displayName = samplerLabel(this.name);
  }

  protected override reset(): void {
    this.previousX0 = null;
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const x0 = this.denoised(modelOutput, i, sample);
    const sigma = this.sigmas[i];
    const next = this.sigmas[i + 1];
    const previous = this.previousX0;
    this.previousX0 = x0;
    if (next === 0) return x0; // expm1(-inf) = -1: the last step lands on the estimate itself.
    const h = Math.log(sigma) - Math.log(next);
    const ratio = next / sigma;
    const c = -Math.expm1(-h);
    if (previous === null || i === 0) return combine(ratio, sample, c, x0);
    const hPrev = Math.log(this.sigmas[i - 1]) - Math.log(sigma);
    const r = hPrev / h;
    const a = 1 + 1 / (2 * r);
    const b = 1 / (2 * r);
    const out = combine(ratio, sample, c * a, x0);
    for (let k = 0; k < out.length; k++) out[k] -= c * b * previous[k];
    return out;
  }
}
