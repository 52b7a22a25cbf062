/**
 * DDPM (Ho et al. 2020) and DDIM (Song et al. 2021): schedulers that walk the discrete training
 * timesteps in the variance-preserving view. Both step from the current timestep t to the next one in
 * the list, t' (the list decides; diffusers instead assumes t - T/n, which differs for linspace spacing);
 * after the last step t' is "before the start", where aBar = 1 (DDIM with set_alpha_to_one = false uses
 * aBar_0 there, as diffusers does).
 *
 * Glossary: aBar_t = alphaBar[t], aBar_t' = alphaBar[t'], x0 = the model's clean-sample estimate,
 * eps = its noise estimate.
 */
import type { SchedulerConfig } from './config';
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

abstract class VpScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  abstract readonly displayName: string;
  readonly initNoiseSigma = 1;
  readonly alphaBar: Float64Array;
  timesteps: number[] = [];

  constructor(readonly config: SchedulerConfig) {
    this.alphaBar = alphaBarFor(config);
  }

  setTimesteps(n: number): void {
    const spacing = this.config.timestep_spacing ?? 'leading';
    this.timesteps = spacedTimesteps(this.config.num_train_timesteps, n, spacing, this.config.steps_offset, true);
  }

  scaleModelInput(sample: Float32Array): Latents {
    return sample.slice();
  }

  /** aBar at step i's timestep, and at the timestep the step lands on. */
  protected alphaBars(i: number, finalAlphaBar: number): { at: number; prev: number } {
    const t = this.timesteps[i];
    if (t === undefined) throw new Error(`step ${i} is outside the ${this.timesteps.length} steps set`);
    const next = this.timesteps[i + 1];
    return { at: this.alphaBar[t], prev: next === undefined ? finalAlphaBar : this.alphaBar[next] };
  }

  /** Ho et al. 2020, eq. 4: x_t = sqrt(aBar_t) x0 + sqrt(1 - aBar_t) eps. */
  addNoise(original: Float32Array, noise: Float32Array, i: number): Latents {
    const aBar = this.alphaBar[this.timesteps[i]];
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
  }

  /** Song et al. 2021, eq. 12 (with eq. 16's sigma). */
  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const final = this.config.set_alpha_to_one ? 1 : this.alphaBar[0];
    const { at, prev } = this.alphaBars(i, final);
    // 1. x0 and eps from the model output ("predicted x0" of eq. 12).
    const { x0, eps } = splitPredictionVp(this.config.prediction_type, modelOutput, sample, at);
    if (this.config.clip_sample) clipInPlace(x0, this.config.clip_sample_range);
    // 2. sigma_t(eta), eq. 16.
    const sigma = this.eta * Math.sqrt((1 - prev) / (1 - at)) * Math.sqrt(1 - at / prev);
    // 3. x_t' = sqrt(aBar_t') x0 + sqrt(1 - aBar_t' - sigma^2) eps + sigma z.
    const a = Math.sqrt(prev);
    const d = Math.sqrt(Math.max(1 - prev - sigma * sigma, 0));
    const out = new Float32Array(sample.length);
    for (let k = 0; k < out.length; k++) out[k] = a * x0[k] + d * eps[k];
    if (sigma > 0) addScaledNoise(out, sigma, requireNoise(noise, this.name));
    return out;
  }
}

export class DdpmScheduler extends VpScheduler {
  readonly name = 'ddpm' as const;
  readonly displayName = samplerLabel(this.name);

  /**
   * Ho et al. 2020, eq. 7, generalised to strided steps t -> t': the posterior q(x_t' | x_t, x0) has
   * mean sqrt(aBar_t') beta / (1 - aBar_t) x0 + sqrt(alpha) (1 - aBar_t') / (1 - aBar_t) x_t and variance
   * (1 - aBar_t') / (1 - aBar_t) beta ("fixed_small"), with alpha = aBar_t / aBar_t', beta = 1 - alpha.
   */
  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const { at, prev } = this.alphaBars(i, 1);
    const alpha = at / prev;
    const beta = 1 - alpha;
    const { x0 } = splitPredictionVp(this.config.prediction_type, modelOutput, sample, at);
    if (this.config.clip_sample) clipInPlace(x0, this.config.clip_sample_range);
    const cx0 = (Math.sqrt(prev) * beta) / (1 - at);
    const cxt = (Math.sqrt(alpha) * (1 - prev)) / (1 - at);
    const out = new Float32Array(sample.length);
    for (let k = 0; k < out.length; k++) out[k] = cx0 * x0[k] + cxt * sample[k];
    const variance = Math.max(((1 - prev) / (1 - at)) * beta, 1e-20);
    if (i < this.timesteps.length - 1) addScaledNoise(out, Math.sqrt(variance), requireNoise(noise, this.name));
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
