/**
 * PLMS: the pseudo linear multistep method of Liu et al. 2022, "Pseudo Numerical Methods for Diffusion
 * Models on Manifolds" (PNDM), with skip_prk_steps (Stable Diffusion 1.x's shipped scheduler): a linear
 * multistep (Adams-Bashforth) combination of the last noise estimates, fed to the "transfer part" phi
 * (eq. 11) that moves x_t to x_t' along the DDIM path. The first step is taken twice at the same
 * timestep pair (a second-order warm-up, diffusers' PNDMScheduler.step_plms); so `timesteps` has n + 1
 * entries for n steps.
 *
 * Glossary: e_i = noise estimates (diffusers' "ets"), a = aBar_t, a' = aBar_t', t' = t - T // n.
 */
import { classDefault, refuseUnsupported, SchedulerConfigError, type SchedulerConfig } from './config';
import { spacedTimesteps } from './noise-schedule';
import { VpScheduler } from './ddim';
import { combine, type Latents } from './types';
import { samplerLabel } from '../../protocol/samplers';

export class PndmScheduler extends VpScheduler {
  readonly name = 'pndm' as const;
  readonly displayName = samplerLabel(this.name);
  private ets: Float32Array[] = [];
  private firstSample: Float32Array | null = null;
  /** Steps taken since setTimesteps: the warm-up is the first two, wherever the run starts (diffusers' `counter`). */
  private taken = 0;

  constructor(config: SchedulerConfig) {
    super(config);
    if (config.prediction_type === 'sample') throw new SchedulerConfigError('scheduler_config.json: the PNDM scheduler takes epsilon or v_prediction models, not prediction_type "sample"');
    refuseUnsupported(config, 'PNDM', ['skip_prk_steps', 'rescale_betas_zero_snr']);
  }

  override setTimesteps(n: number): void {
    const spacing = classDefault(this.config.timestep_spacing, 'leading');
    const ts = spacedTimesteps(this.config.num_train_timesteps, n, spacing, this.config.steps_offset, true);
    // The warm-up repeats the second timestep: [t0, t1, t1, t2, ..., t_{n-1}].
    this.timesteps = n > 1 ? [ts[0], ts[1], ...ts.slice(1)] : [ts[0], ts[0]];
    this.numInferenceSteps = n;
    this.ets = [];
    this.firstSample = null;
    this.taken = 0;
  }

  /**
   * Image-to-image from sampling step s: the warm-up pair has to run from t_s ([..., t_s, t_{s+1},
   * t_{s+1}, t_{s+2}, ...]), which the list made for a start at t0 does not have (index 1 is the second
   * half of the first warm-up: with no first half to average, it failed). The tail is re-laid so, and
   * the run starts at index s. Call after setTimesteps, before addNoise.
   */
  startIndex(step: number): number {
    if (step <= 0) return 0;
    const ts = [this.timesteps[0], ...this.timesteps.slice(2)]; // t0 .. t_{n-1}
    if (step >= ts.length) throw new RangeError(`PNDM: cannot start at step ${step} of ${ts.length}`);
    // One step left: one first-order step (a warm-up pair would end at t_{n-1}, not at the clean sample).
    this.timesteps = step + 1 === ts.length ? ts : [...ts.slice(0, step + 2), ...ts.slice(step + 1)];
    return step;
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const ratio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps);
    let t = this.timestepAt(i);
    let tPrev = t - ratio;
    let e: Float32Array;
    let x = sample;
    const k = this.taken++;
    if (k === 1) {
      // Warm-up, second half: the average of the first two estimates, from the first sample, over the same pair.
      tPrev = t;
      t += ratio;
      e = combine(0.5, modelOutput, 0.5, this.ets[this.ets.length - 1]);
      x = this.firstSample!;
      this.firstSample = null;
    } else {
      this.ets = [...this.ets.slice(-3), modelOutput.slice()];
      const n = this.ets.length;
      const [e1, e2, e3, e4] = [this.ets[n - 1], this.ets[n - 2], this.ets[n - 3], this.ets[n - 4]];
      if (n === 1) {
        e = modelOutput.slice();
        this.firstSample = sample.slice();
      } else if (n === 2) e = combine(1.5, e1, -0.5, e2); // Adams-Bashforth, 2nd order
      else if (n === 3) e = lin([23 / 12, e1], [-16 / 12, e2], [5 / 12, e3]); // 3rd order
      else e = lin([55 / 24, e1], [-59 / 24, e2], [37 / 24, e3], [-9 / 24, e4]); // 4th order (PNDM eq. 12)
    }
    return this.transfer(x, t, tPrev, e);
  }

  /** Liu et al. 2022, eq. 11: phi(x_t, e, t, t') = sqrt(a'/a) x_t - (a' - a) e / (a sqrt(1 - a') + sqrt(a (1 - a) a')). */
  private transfer(x: Float32Array, t: number, tPrev: number, e: Float32Array): Latents {
    const a = this.alphaBar[t];
    const aPrev = this.alphaBarAt(tPrev, classDefault(this.config.set_alpha_to_one, false) ? 1 : this.alphaBar[0]);
    // v-prediction: eps = sqrt(a) v + sqrt(1 - a) x_t (Salimans & Ho 2022).
    const eps = this.config.prediction_type === 'v_prediction' ? combine(Math.sqrt(a), e, Math.sqrt(1 - a), x) : e;
    const denom = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
    return combine(Math.sqrt(aPrev / a), x, -(aPrev - a) / denom, eps);
  }
}

/** sum_j c_j v_j into a new array. */
export function lin(...terms: [number, Float32Array][]): Latents {
  const out = new Float32Array(terms[0][1].length);
  for (const [c, v] of terms) for (let k = 0; k < out.length; k++) out[k] += c * v[k];
  return out;
}
