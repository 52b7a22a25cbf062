/**
 * Schedulers that walk the discrete training timesteps in the variance-preserving view
 * x_t = sqrt(aBar_t) x0 + sqrt(1 - aBar_t) eps (Ho et al. 2020, eq. 4): DDPM and DDIM here; PNDM
 * (pndm.ts) and LCM (lcm.ts) share the base class. They follow diffusers' DDIMScheduler and
 * DDPMScheduler step for step: DDIM steps from t to t' = t - T // n (the previous timestep of the
 * leading grid, whatever the spacing), DDPM to the next timestep of the list; "before the start"
 * (t' < 0) aBar is 1 (DDIM with set_alpha_to_one = false: aBar_0).
 *
 * Glossary: aBar_t = alphaBar[t] ("alpha_prod_t"), aBar_t' ("alpha_prod_t_prev"), x0 = the model's
 * clean-sample estimate ("pred_original_sample"), eps = its noise estimate.
 */
import { classDefault, refuseUnsupported, SchedulerConfigError, type SchedulerConfig } from './config';
import { alphaBarFor, spacedTimesteps } from './noise-schedule';
import { splitPredictionVp } from './prediction';
import {
  clipInPlace,
  combine,
  type Latents,
  type NormalSource,
  type Scheduler,
  type SchedulerName,
} from './types';
import { samplerLabel } from '../../protocol/samplers';

export abstract class VpScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  abstract readonly displayName: string;
  readonly initNoiseSigma: number = 1;
  readonly alphaBar: Float64Array;
  timesteps: number[] = [];
  protected numInferenceSteps = 0;

  constructor(readonly config: SchedulerConfig) {
    this.alphaBar = alphaBarFor(config);
  }

  setTimesteps(n: number): void {
    const spacing = classDefault(this.config.timestep_spacing, 'leading');
    this.timesteps = spacedTimesteps(this.config.num_train_timesteps, n, spacing, this.config.steps_offset, true);
    this.numInferenceSteps = n;
  }

  scaleModelInput(sample: Float32Array): Latents {
    return sample.slice();
  }

  protected timestepAt(i: number): number {
    const t = this.timesteps[i];
    if (t === undefined) throw new Error(`step ${i} is outside the ${this.timesteps.length} steps set`);
    return t;
  }

  /** aBar at a timestep; before the start (t < 0) the scheduler's final value. */
  protected alphaBarAt(t: number, final: number): number {
    return t >= 0 ? this.alphaBar[t] : final;
  }

  /** x0 from the model output at aBar, clipped to +-clip_sample_range when clip_sample is on (class default `clipDefault`). */
  protected cleanEstimate(modelOutput: Float32Array, sample: Float32Array, aBar: number, clipDefault: boolean): { x0: Latents; eps: Latents } {
    const p = splitPredictionVp(this.config.prediction_type, modelOutput, sample, aBar);
    if (classDefault(this.config.clip_sample, clipDefault)) clipInPlace(p.x0, this.config.clip_sample_range);
    return p;
  }

  /** Ho et al. 2020, eq. 4: x_t = sqrt(aBar_t) x0 + sqrt(1 - aBar_t) eps. */
  addNoise(original: Float32Array, noise: Float32Array, i: number): Latents {
    const aBar = this.alphaBar[this.timestepAt(i)];
    return combine(Math.sqrt(aBar), original, Math.sqrt(1 - aBar), noise);
  }

  abstract step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents;
}

export class DdimScheduler extends VpScheduler {
  readonly name = 'ddim' as const;
  readonly displayName = samplerLabel(this.name);

  /** eta = 0 is the deterministic DDIM sampler; eta = 1 matches DDPM's variance. */
  constructor(config: SchedulerConfig, readonly eta = 0) {
    super(config);
    refuseUnsupported(config, 'DDIM', ['thresholding']);
  }

  /** Song et al. 2021, eq. 12 (with eq. 16's sigma). */
  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const t = this.timestepAt(i);
    const tPrev = ddimPreviousTimestep(t, this.config.num_train_timesteps, this.numInferenceSteps);
    const at = this.alphaBar[t];
    const prev = this.alphaBarAt(tPrev, classDefault(this.config.set_alpha_to_one, true) ? 1 : this.alphaBar[0]);
    // 1. x0 and eps from the model output ("predicted x0" of eq. 12); clip_sample defaults to true (diffusers).
    const { x0, eps } = this.cleanEstimate(modelOutput, sample, at, true);
    // 2. sigma_t(eta), eq. 16.
    const sigma = this.eta * Math.sqrt((1 - prev) / (1 - at)) * Math.sqrt(1 - at / prev);
    // 3. x_t' = sqrt(aBar_t') x0 + sqrt(1 - aBar_t' - sigma^2) eps + sigma z.
    const out = combine(Math.sqrt(prev), x0, Math.sqrt(Math.max(1 - prev - sigma * sigma, 0)), eps);
    if (sigma > 0) addScaledNoise(out, sigma, requireNoise(noise, this.name));
    return out;
  }
}

export class DdpmScheduler extends VpScheduler {
  readonly name = 'ddpm' as const;
  readonly displayName = samplerLabel(this.name);
  private readonly largeVariance: boolean;

  constructor(config: SchedulerConfig) {
    super(config);
    refuseUnsupported(config, 'DDPM', ['thresholding']);
    const v = config.variance_type ?? 'fixed_small';
    if (v !== 'fixed_small' && v !== 'fixed_large') {
      throw new SchedulerConfigError(`scheduler_config.json: variance_type "${v}" is not implemented by the DDPM scheduler here (fixed_small, fixed_large)`);
    }
    this.largeVariance = v === 'fixed_large';
  }

  /**
   * Ho et al. 2020, eq. 7, generalised to strided steps t -> t' (the next timestep of the list): the
   * posterior q(x_t' | x_t, x0) has mean sqrt(aBar_t') beta / (1 - aBar_t) x0 + sqrt(alpha) (1 - aBar_t') /
   * (1 - aBar_t) x_t and variance (1 - aBar_t') / (1 - aBar_t) beta ("fixed_small"; "fixed_large": beta),
   * with alpha = aBar_t / aBar_t', beta = 1 - alpha. Noise is added whenever t > 0 (diffusers' rule).
   */
  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const t = this.timestepAt(i);
    const at = this.alphaBar[t];
    const prev = this.alphaBarAt(this.timesteps[i + 1] ?? -1, 1);
    const alpha = at / prev;
    const beta = 1 - alpha;
    const { x0 } = this.cleanEstimate(modelOutput, sample, at, true);
    const out = combine((Math.sqrt(prev) * beta) / (1 - at), x0, (Math.sqrt(alpha) * (1 - prev)) / (1 - at), sample);
    if (t > 0) {
      const variance = this.largeVariance ? beta : Math.max(((1 - prev) / (1 - at)) * beta, 1e-20);
      addScaledNoise(out, Math.sqrt(variance), requireNoise(noise, this.name));
    }
    return out;
  }
}

export function addScaledNoise(x: Float32Array, scale: number, noise: NormalSource): void {
  const z = noise.fillNormal(new Float32Array(x.length));
  for (let k = 0; k < x.length; k++) x[k] += scale * z[k];
}

export function requireNoise(noise: NormalSource | undefined, name: string): NormalSource {
  if (!noise) throw new Error(`the ${name} scheduler adds noise at each step: pass a noise source to step()`);
  return noise;
}

/**
 * The timestep diffusers' DDIM step from t lands on with n inference steps: t - T // n whatever the
 * spacing (below 0: past the last step). Distillation's rounds follow it (distill/targets.ts roundSteps).
 */
export function ddimPreviousTimestep(t: number, T: number, n: number): number {
  return t - Math.floor(T / n);
}
