/**
 * The numerical heart of distillation: the variance-preserving noise levels, deterministic DDIM steps,
 * and the targets the student regresses on.
 *
 * Glossary (Salimans & Ho 2022, "Progressive Distillation for Fast Sampling of Diffusion Models"):
 *   z_t = alpha_t x + sigma_t eps      the noisy latent at timestep t (alpha_t^2 + sigma_t^2 = 1)
 *   alpha_t = sqrt(aBar_t), sigma_t = sqrt(1 - aBar_t), SNR_t = alpha_t^2 / sigma_t^2
 *   x_hat, eps_hat                    the model's clean-sample and noise estimates
 *   DDIM step t -> s (eq. 3 of Algorithm 2): z_s = alpha_s x_hat + sigma_s eps_hat
 *   t' = t - 0.5/N, t'' = t - 1/N     the teacher's two half steps inside one student step
 *
 * Everything is float64 internally; latents are float32 arrays holding a whole batch, with one noise
 * level per row (each row of a training batch has its own timestep). The prediction-type conversions
 * are the schedulers' (schedulers/prediction.ts). The DDIM step below is not the DDIM scheduler's
 * `step`: that one walks one timestep list for the whole batch and rounds x_hat and eps_hat to float32
 * between the conversion and the update; this one takes a level per row and keeps float64 through.
 * Which levels a round's steps go between is the request's trajectory (`roundSteps`): by default the
 * ones the DDIM scheduler steps between, so that a student learns the sampler it is run with.
 */
import type { PredictionType, SchedulerConfig } from '../../schedulers/config';
import type { Latents } from '../../schedulers/types';
import type { Sampler } from '../core/denoise';
import { ddimPreviousTimestep } from '../../schedulers/ddim';
import { alphaBarFor, spacedTimesteps } from '../../schedulers/noise-schedule';
import { predictionFor, splitPrediction, type Level } from '../../schedulers/prediction';

export type { Level } from '../../schedulers/prediction';

/** The noise schedule of a model, addressed by training timestep, plus the "after the last step" level. */
export class NoiseLevels {
  readonly alphaBar: Float64Array;
  /** The level after the final step: aBar = 1 with set_alpha_to_one, else aBar_0 (diffusers' DDIM). */
  readonly final: Level;

  constructor(readonly config: SchedulerConfig) {
    this.alphaBar = alphaBarFor(config);
    const a = (config.set_alpha_to_one ?? true) ? 1 : this.alphaBar[0]; // unset: DDIM's default, true
    this.final = { alpha: Math.sqrt(a), sigma: Math.sqrt(1 - a) };
  }

  /** The level at training timestep t; t = -1 means "after the last step" (see `final`). */
  at(t: number): Level {
    if (t < 0) return this.final;
    const a = this.alphaBar[t];
    if (a === undefined) throw new Error(`timestep ${t} is outside 0..${this.alphaBar.length - 1}`);
    return { alpha: Math.sqrt(a), sigma: Math.sqrt(1 - a) };
  }

  /**
   * The sampling grid for n steps, as the DDIM scheduler walks it, with -1 appended for "after the
   * last step". Trailing spacing makes the n-step grid the even entries of the 2n-step grid, which is
   * what lets a student step stand for exactly two teacher steps.
   */
  grid(n: number): number[] {
    const ts = spacedTimesteps(this.config.num_train_timesteps, n, 'trailing', 0, true);
    return [...ts, -1];
  }
}

/**
 * Which path a round's steps take between noise levels:
 *   grid       a step goes from one trailing-grid timestep to the next (t'' = grid_N[i + 1]); the
 *              n-step sampler is `gridSampler`
 *   scheduler  as the DDIM scheduler (and diffusers' DDIMScheduler) steps: the latent goes to level
 *              t - T // n while the next UNet call is told the grid's next timestep, up to one timestep
 *              less noise than the latent holds (T // n rounds down T / n). The product samples this way.
 */
export type Trajectory = 'grid' | 'scheduler';

/**
 * One student step of a round (N steps, teacher 2N) in training timesteps, -1 = after the last step:
 * the student's UNet call at t; the teacher's first step from t to `land1`, its second UNet call at
 * `mid` (the 2N-step grid's odd entry) landing at `land2`; and the level the student's one step lands
 * on, which the target is solved for. On the grid, land1 = mid and land2 = studentLands = grid_N[i + 1].
 */
export interface RoundStep {
  t: number;
  mid: number;
  land1: number;
  land2: number;
  studentLands: number;
}

/** The N steps of a round, step i at index i. */
export function roundSteps(levels: NoiseLevels, n: number, trajectory: Trajectory): RoundStep[] {
  const student = levels.grid(n);
  const teacher = levels.grid(2 * n);
  const T = levels.config.num_train_timesteps;
  const after = (from: number, steps: number) => Math.max(ddimPreviousTimestep(from, T, steps), -1);
  return Array.from({ length: n }, (_, i) => {
    const t = student[i], mid = teacher[2 * i + 1];
    if (trajectory === 'grid') return { t, mid, land1: mid, land2: student[i + 1], studentLands: student[i + 1] };
    return { t, mid, land1: after(t, 2 * n), land2: after(mid, 2 * n), studentLands: after(t, n) };
  });
}

/**
 * The teacher's n-step deterministic DDIM on the trailing grid as a sampler for the denoising core
 * (pipelines/core/denoise.ts): the same steps as `ddimStep`, one level for the whole batch.
 */
export function gridSampler(kind: PredictionType, levels: NoiseLevels, n: number): Sampler {
  const grid = levels.grid(n);
  return {
    timesteps: grid.slice(0, n),
    scaleModelInput: (sample) => sample.slice(),
    step: (out, i, z) => ddimStep(kind, out, z, [levels.at(grid[i])], [levels.at(grid[i + 1])]) as Latents,
  };
}

/**
 * Deterministic DDIM (Song et al. 2021, eq. 12 with eta = 0) for a batch: row r goes from level
 * `from[r]` to level `to[r]`.
 */
export function ddimStep(kind: PredictionType, out: Float32Array, z: Float32Array, from: Level[], to: Level[]): Float32Array {
  const per = z.length / from.length;
  const next = new Float32Array(z.length);
  for (let k = 0; k < z.length; k++) {
    const r = Math.floor(k / per);
    const { x, eps } = splitPrediction(kind, out[k], z[k], from[r]);
    next[k] = to[r].alpha * x + to[r].sigma * eps;
  }
  return next;
}

/**
 * Algorithm 2's target: the clean sample x~ that makes ONE DDIM step from z_t (level t) land on the
 * teacher's z_t'' (level t''):
 *   x~ = (z_t'' - (sigma_t'' / sigma_t) z_t) / (alpha_t'' - (sigma_t'' / sigma_t) alpha_t)
 * returned in the student's parameterisation, so the loss can be taken on the raw output.
 */
export function twoStepTarget(kind: PredictionType, zt: Float32Array, zt2: Float32Array, t: Level[], t2: Level[]): Float32Array {
  const per = zt.length / t.length;
  const target = new Float32Array(zt.length);
  for (let k = 0; k < zt.length; k++) {
    const r = Math.floor(k / per);
    const ratio = t2[r].sigma / t[r].sigma;
    const x = (zt2[k] - ratio * zt[k]) / (t2[r].alpha - ratio * t[r].alpha);
    target[k] = predictionFor(kind, x, zt[k], t[r]);
  }
  return target;
}

/**
 * The paper's "truncated SNR" weighting, max(SNR_t, 1) on ||x_hat - x~||^2 (Salimans & Ho 2022,
 * section 4), moved onto the student's own output: x_hat - x~ = -sigma (v_hat - v~) for v, so the
 * weight on the v error is max(SNR, 1) sigma^2 = max(alpha^2, sigma^2); for eps it is
 * max(SNR, 1) sigma^2 / alpha^2 = max(1, 1/SNR); for x it is max(SNR, 1) itself.
 */
export function truncatedSnrWeight(kind: PredictionType, l: Level): number {
  const a2 = l.alpha * l.alpha;
  const s2 = l.sigma * l.sigma;
  switch (kind) {
    case 'v_prediction':
      return Math.max(a2, s2);
    case 'epsilon':
      return Math.max(1, s2 / a2);
    case 'sample':
      return Math.max(a2 / s2, 1);
  }
}

/** Forward process per row: z_t = alpha_t x + sigma_t eps (Ho et al. 2020, eq. 4). */
export function noised(x: Float32Array, eps: Float32Array, levels: Level[]): Float32Array {
  const per = x.length / levels.length;
  return Float32Array.from(x, (v, k) => {
    const l = levels[Math.floor(k / per)];
    return l.alpha * v + l.sigma * eps[k];
  });
}
