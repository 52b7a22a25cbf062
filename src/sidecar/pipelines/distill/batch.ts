/**
 * One training batch of a phase: rows (x, prompt, eps, t, s) drawn from the step's own seeded stream,
 * the teacher's target for each, and the feeds of the student's training graph.
 *
 *   stage 1 (Meng et al. 2023, eq. 5):   target = teacher's guided output at (z_t, t, s), t on the
 *                                        teacher's grid, s ~ U(range)
 *   round  (Salimans & Ho 2022, Alg. 2): t = grid_N[i], i ~ U{0..N-1}; t' = grid_2N[2i+1];
 *                                        t'' = grid_N[i+1]; target from two teacher DDIM steps
 *                                        (levels as the request's trajectory says: targets.ts roundSteps)
 * Both regress with the truncated-SNR weight at t. A share of the rows (`visitedShare`) may take z_t,
 * its prompt and its scale from latents the teacher's sampler visited instead (visited.ts).
 */
import * as ort from 'onnxruntime-node';
import type { Rng } from '../../graph/init';
import type { PredictionType } from '../../schedulers/config';
import { unetFeeds, type FeedSignature } from '../core/unet-feeds';
import { drawRow, type DistillData } from './data';
import type { Phase } from './plan';
import { noised, roundSteps, truncatedSnrWeight, twoStepTarget, type NoiseLevels, type RoundStep, type Trajectory } from './targets';
import type { Teacher, TeacherBatch } from './teacher';
import type { VisitedPool } from './visited';

export interface BatchContext {
  phase: Phase;
  data: DistillData;
  teacher: Teacher;
  levels: NoiseLevels;
  kind: PredictionType;
  batchSize: number;
  /** Guidance scales: drawn from [lo, hi] per row (lo = hi for a fixed scale). */
  scaleRange: [number, number];
  /** Whether the student has the guidance_scale input. */
  studentGuided: boolean;
  /** The path a round's steps take (targets.ts Trajectory). */
  trajectory: Trajectory;
  /** Latents the teacher's sampler visited, and the share of rows drawn from them (0: none, as before). */
  visited?: VisitedPool;
  visitedShare?: number;
}

export async function makeBatch(c: BatchContext, rng: Rng): Promise<Record<string, ort.Tensor>> {
  const B = c.batchSize;
  const per = c.data.latentShape.reduce((a, b) => a * b, 1);
  const row = c.data.contextShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(B * per);
  const cond = new Float32Array(B * row);
  for (let r = 0; r < B; r++) {
    const { m, p } = drawRow(c.data, rng);
    x.set(c.data.latents.subarray(m * per, (m + 1) * per), r * per);
    cond.set(c.data.embeddings.subarray(p * row, (p + 1) * row), r * row);
  }
  const eps = rng.fillNormal(new Float32Array(B * per));
  const [lo, hi] = c.scaleRange;
  const scales = Array.from({ length: B }, () => lo + (hi - lo) * rng.next());
  const { t, round } = timesteps(c, rng);
  const zt = noised(x, eps, t.map((v) => c.levels.at(v)));
  if (c.visited && c.visitedShare) fromVisited(c, c.visited, c.visitedShare, rng, { zt, cond, t, scales, per, row });
  const tb: TeacherBatch = { z: zt, t, cond, uncond: c.data.uncond, scales, latentShape: c.data.latentShape, contextShape: c.data.contextShape };
  const target = round
    ? twoStepTarget(c.kind, zt, await c.teacher.twoSteps(c.kind, c.levels, tb, round), t.map((v) => c.levels.at(v)), round.map((s) => c.levels.at(s.studentLands)))
    : await c.teacher.predict(tb);
  // The student's own inputs, as its training graph declares them (the teacher's, plus guidance_scale for a guided student).
  const student: FeedSignature = { ...c.teacher.sig, guidanceInput: c.studentGuided ? { type: 'float32', shape: 'batch' } : null };
  const context = new ort.Tensor('float32', cond, [B, ...c.data.contextShape]);
  const feeds = unetFeeds(student, { sample: zt, shape: c.data.latentShape, timesteps: t, context, scales });
  feeds.target = new ort.Tensor('float32', target, [B, ...c.data.latentShape]);
  feeds.weight = new ort.Tensor('float32', Float32Array.from(t, (v) => truncatedSnrWeight(c.kind, c.levels.at(v))), [B]);
  return feeds;
}

/** Per row: the student's timestep t and, for a round, the teacher's steps inside the student's one. */
function timesteps(c: BatchContext, rng: Rng): { t: number[]; round?: RoundStep[] } {
  const B = c.batchSize;
  if (c.phase.kind === 'stage1') {
    const grid = c.levels.grid(c.phase.teacherSteps);
    return { t: Array.from({ length: B }, () => grid[rng.int(grid.length - 1)]) };
  }
  const table = roundSteps(c.levels, c.phase.steps, c.trajectory);
  const round = Array.from({ length: B }, () => table[rng.int(table.length)]);
  return { t: round.map((s) => s.t), round };
}

/**
 * Replaces about `share` of the rows by states of the pool: a stage-1 row by any state (its timestep
 * with it), a round's row by a trajectory's state at the row's own timestep. Drawn after the rest of the
 * batch, so a job without a pool draws exactly what it drew before.
 */
function fromVisited(
  c: BatchContext, pool: VisitedPool, share: number, rng: Rng,
  b: { zt: Float32Array; cond: Float32Array; t: number[]; scales: number[]; per: number; row: number },
): void {
  const K = pool.prompt.length;
  for (let r = 0; r < b.t.length; r++) {
    if (rng.next() >= share) continue;
    const k = rng.int(K);
    const i = c.phase.kind === 'stage1' ? rng.int(pool.steps) : pool.stepAt.get(b.t[r]);
    if (i === undefined) continue; // a round timestep the pool's sampler never called (not on its grid)
    const s = k * pool.steps + i, p = pool.prompt[k];
    b.t[r] = pool.t[s];
    b.zt.set(pool.z.subarray(s * b.per, (s + 1) * b.per), r * b.per);
    b.cond.set(c.data.embeddings.subarray(p * b.row, (p + 1) * b.row), r * b.row);
    b.scales[r] = pool.scale[k];
  }
}
