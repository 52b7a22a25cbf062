/**
 * Latents the teacher's own sampler visits, as training inputs beside noised data (decided
 * 2026-12-07, docs/DISTILLATION.md "On the teacher's path").
 *
 * A student trained only on z_t = alpha_t x + sigma_t eps of real drawings is never shown the latents
 * the guided teacher's sampler passes through: guidance at s = 3 pulls a trajectory off the noised-data
 * distribution, and that is where a sampled student has to agree with it. So the job may sample the
 * teacher once (its `fromSteps`-step DDIM on the request's trajectory, each trajectory at one guidance
 * scale drawn from the request's range, a prompt drawn as the batches draw theirs) and record every
 * latent the UNet was called on, with its timestep, prompt and scale. Batches then take a share of their
 * rows from these states (batch.ts): the target is computed there as for any row.
 *
 * The pool is drawn from the job's seed, so a resumed job rebuilds the same one instead of storing it.
 */
import { rngFor } from '../../graph/init';
import { createScheduler } from '../../schedulers/index';
import { denoise, type Sampler } from '../core/denoise';
import { drawRow, type DistillData } from './data';
import { gridSampler, type NoiseLevels, type Trajectory } from './targets';
import type { Teacher } from './teacher';

export interface VisitedPool {
  /** Steps of the sampler that visited them; `states` = trajectories x steps. */
  steps: number;
  /** Latents the UNet was called on [states * C * H * W], state k = trajectory * steps + step. */
  z: Float32Array;
  /** Per state: the timestep the UNet was told. Per trajectory: its prompt (index into data.prompts) and guidance scale. */
  t: Int32Array;
  prompt: Int32Array;
  scale: Float32Array;
  /** Timestep -> the step index that calls the UNet there. */
  stepAt: ReadonlyMap<number, number>;
}

export interface VisitedOptions {
  trajectories: number;
  steps: number;
  scaleRange: [number, number];
  trajectory: Trajectory;
  seed: number;
  /** Rows per sampling batch (one guidance scale each). */
  batch?: number;
  /** Called after each sampling batch with the trajectories done (the pool takes minutes at 64 steps). */
  onProgress?(done: number, total: number): void;
}

/**
 * The n-step sampler of a trajectory: the DDIM scheduler as the students are written to sample (trailing
 * spacing, no offset: export.ts), or the distillation's exact grid; both call the UNet on levels.grid(n).
 * Both step by index alone, so one serves every sampling batch.
 */
function samplerFor(trajectory: Trajectory, levels: NoiseLevels, n: number): Sampler {
  if (trajectory === 'grid') return gridSampler(levels.config.prediction_type, levels, n);
  const s = createScheduler('ddim', { ...levels.config, timestep_spacing: 'trailing', steps_offset: 0 });
  s.setTimesteps(n);
  return s;
}

/** Bytes the pool's latents take: trajectories x steps latents of float32. */
export function visitedPoolBytes(trajectories: number, steps: number, latentShape: readonly number[]): number {
  return trajectories * steps * latentShape.reduce((a, b) => a * b, 4);
}

/** Samples `o.trajectories` teacher trajectories and keeps every latent its UNet was called on. */
export async function visitedPool(teacher: Teacher, data: DistillData, levels: NoiseLevels, o: VisitedOptions): Promise<VisitedPool> {
  const per = data.latentShape.reduce((a, b) => a * b, 1);
  const row = data.contextShape.reduce((a, b) => a * b, 1);
  const K = o.trajectories, n = o.steps, B = o.batch ?? 16;
  const scheduler = samplerFor(o.trajectory, levels, n);
  const pool: VisitedPool = {
    steps: n, z: new Float32Array(K * n * per), t: new Int32Array(K * n), prompt: new Int32Array(K), scale: new Float32Array(K),
    stepAt: new Map(scheduler.timesteps.map((t, i) => [t, i])),
  };
  const rng = rngFor(o.seed, 'visited');
  const [lo, hi] = o.scaleRange;
  for (let first = 0; first < K; first += B) {
    const rows = Math.min(B, K - first);
    const s = lo + (hi - lo) * rng.next();
    const cond = new Float32Array(rows * row);
    for (let r = 0; r < rows; r++) {
      const { p } = drawRow(data, rng);
      pool.prompt[first + r] = p;
      pool.scale[first + r] = s;
      cond.set(data.embeddings.subarray(p * row, (p + 1) * row), r * row);
    }
    await denoise({
      unet: { session: teacher.session, sig: teacher.sig }, scheduler, shape: data.latentShape,
      latents: rng.fillNormal(new Float32Array(rows * per)),
      text: { cond, uncond: data.uncond, dims: data.contextShape },
      guidanceScale: s, mode: teacher.guidanceMode([s]),
    }, {
      onStep: (st) => {
        for (let r = 0; r < rows; r++) {
          const k = (first + r) * n + st.index;
          pool.z.set(st.modelInput.subarray(r * per, (r + 1) * per), k * per);
          pool.t[k] = st.timestep;
        }
      },
    });
    o.onProgress?.(first + rows, K);
  }
  return pool;
}
