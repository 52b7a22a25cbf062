/**
 * LCM: multistep sampling of a latent consistency model (Luo et al. 2023, "Latent Consistency Models",
 * Algorithm 3 / eq. 9). The timesteps are a subset of the distillation schedule (original_inference_steps
 * evenly spaced skipping steps, k = T // original_steps, t = k j - 1); each step maps x_t to the
 * consistency function's output f(x_t, t) = c_skip(t) x_t + c_out(t) x0 with the boundary-condition
 * scalings of Song et al. 2023 (sigma_data = 0.5, the timestep scaled by timestep_scaling), and, except
 * after the last step, noises it back to the next timestep (forward process, Ho et al. 2020 eq. 4).
 * timestep_spacing does not apply (diffusers' LCMScheduler ignores it too).
 */
import { refuseUnsupported, type SchedulerConfig } from './config';
import { VpScheduler, addScaledNoise, requireNoise } from './ddim';
import { combine, type Latents, type NormalSource } from './types';
import { samplerLabel } from '../../protocol/samplers';

export class LcmScheduler extends VpScheduler {
  readonly name = 'lcm' as const;
  readonly displayName = samplerLabel(this.name);

  constructor(config: SchedulerConfig) {
    super(config);
    refuseUnsupported(config, 'LCM', ['thresholding']);
  }

  override setTimesteps(n: number): void {
    const T = this.config.num_train_timesteps;
    const original = this.config.original_inference_steps;
    if (original > T) throw new RangeError(`original_inference_steps (${original}) exceeds num_train_timesteps (${T})`);
    if (!Number.isInteger(n) || n < 1 || n > original) {
      throw new RangeError(`LCM takes from 1 to original_inference_steps = ${original} steps, got ${n}`);
    }
    const k = Math.floor(T / original);
    const origin = Array.from({ length: original }, (_, j) => (original - j) * k - 1); // noisiest first
    this.timesteps = Array.from({ length: n }, (_, i) => origin[Math.floor((i * original) / n)]);
    this.numInferenceSteps = n;
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const t = this.timestepAt(i);
    const tNext = this.timesteps[i + 1] ?? t;
    const at = this.alphaBar[t];
    // Boundary-condition scalings (Song et al. 2023, "Consistency Models", appendix C), sigma_data = 0.5.
    const st = t * this.config.timestep_scaling;
    const cSkip = 0.25 / (st * st + 0.25);
    const cOut = st / Math.sqrt(st * st + 0.25);
    const { x0 } = this.cleanEstimate(modelOutput, sample, at, false);
    const denoised = combine(cOut, x0, cSkip, sample);
    if (i === this.numInferenceSteps - 1) return denoised;
    const aNext = this.alphaBar[tNext];
    const out = combine(Math.sqrt(aNext), denoised, 0, denoised);
    addScaledNoise(out, Math.sqrt(1 - aNext), requireNoise(noise, this.name));
    return out;
  }
}
