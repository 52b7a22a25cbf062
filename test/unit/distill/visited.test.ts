/**
 * Latents the teacher's sampler visits (pipelines/distill/visited.ts) on the tiny SD-layout fixture:
 * the pool is the path the DDIM scheduler takes with the teacher's guided output (checked step by step
 * against a fresh scheduler), and a batch's rows drawn from it carry that state's latent, timestep,
 * prompt and guidance scale into the student's feeds, while a share of 0 draws the batch as before.
 */
import { test } from 'node:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { rngFor } from '../../../src/sidecar/graph/init';
import { DdimScheduler } from '../../../src/sidecar/schedulers/ddim';
import { encodeTexts, type DistillData } from '../../../src/sidecar/pipelines/distill/data';
import { makeBatch, type BatchContext } from '../../../src/sidecar/pipelines/distill/batch';
import { NoiseLevels } from '../../../src/sidecar/pipelines/distill/targets';
import { Teacher } from '../../../src/sidecar/pipelines/distill/teacher';
import { visitedPool, type VisitedPool } from '../../../src/sidecar/pipelines/distill/visited';
import { runDistillation } from '../../../src/sidecar/pipelines/distill/job';

const folder = loadModelFolder('test/fixtures/tiny-sd');
const levels = new NoiseLevels(folder.schedulerConfig);
const kind = folder.schedulerConfig.prediction_type;
const STEPS = 8;

let teacher: Teacher;
let data: DistillData;
let pool: VisitedPool;
test.before(async () => {
  teacher = await Teacher.open(folder.files.unet);
  const prompts = ['a cat', 'a dog', 'a red apple'];
  const text = await encodeTexts(folder, ['', ...prompts]);
  const row = text.dims[1] * text.dims[2];
  const side = folder.sampleSize ?? 8;
  const latentShape = [4, side, side];
  const per = 4 * side * side;
  data = {
    latentShape, contextShape: text.dims.slice(1), uncond: text.data.slice(0, row), prompts,
    embeddings: text.data.slice(row), latents: rngFor(1, 'latents').fillNormal(new Float32Array(4 * per)),
    captions: [[0], [1], [2], [0, 2]],
  };
  pool = await visitedPool(teacher, data, levels, { trajectories: 5, steps: STEPS, scaleRange: [2, 6], trajectory: 'scheduler', seed: 3, batch: 2 });
});
test.after(() => teacher.release());

const per = () => data.latentShape.reduce((a, b) => a * b, 1);
const row = () => data.contextShape.reduce((a, b) => a * b, 1);
const state = (s: number) => pool.z.subarray(s * per(), (s + 1) * per());

test('the pool holds every latent the guided teacher\'s DDIM sampler called its UNet on, in order', async () => {
  assert.equal(pool.t.length, 5 * STEPS);
  for (let k = 0; k < 5; k++) {
    const s = pool.scale[k];
    assert.ok(s >= 2 && s <= 6, `scale ${s} is in the range`);
    // as the students sample: trailing spacing (the fixture's own config says leading, offset 1)
    const ddim = new DdimScheduler({ ...folder.schedulerConfig, timestep_spacing: 'trailing', steps_offset: 0 });
    ddim.setTimesteps(STEPS);
    const p = pool.prompt[k];
    const cond = data.embeddings.slice(p * row(), (p + 1) * row());
    for (let i = 0; i < STEPS; i++) {
      const at = k * STEPS + i;
      assert.equal(pool.t[at], ddim.timesteps[i], `trajectory ${k} step ${i}`);
      assert.equal(pool.t[at], levels.grid(STEPS)[i], 'on the grid stage 1 and the rounds train at');
      assert.equal(pool.stepAt.get(pool.t[at]), i);
      if (i + 1 === STEPS) break;
      // the next state is one scheduler step of the teacher's guided output at this one
      const out = await teacher.predict({ z: state(at).slice(), t: [pool.t[at]], cond, uncond: data.uncond, scales: [s], latentShape: data.latentShape, contextShape: data.contextShape });
      const next = ddim.step(out, i, state(at).slice());
      const err = Math.max(...next.map((v, j) => Math.abs(v - state(at + 1)[j])));
      assert.ok(err < 1e-4, `trajectory ${k}: step ${i} -> ${i + 1} differs by ${err}`);
    }
  }
  // five trajectories, five different starting noises
  assert.notDeepEqual(state(0), state(STEPS));
});

function context(phase: BatchContext['phase'], share: number, withPool = true): BatchContext {
  return {
    phase, data, teacher, levels, kind, batchSize: 6, scaleRange: [1, 5], studentGuided: true, trajectory: 'scheduler',
    ...(withPool ? { visited: pool, visitedShare: share } : {}),
  };
}

const stage1 = { kind: 'stage1' as const, steps: STEPS, teacherSteps: STEPS, iterations: 1, name: 'guided-8' };
const round = { kind: 'round' as const, steps: 4, teacherSteps: STEPS, iterations: 1, name: 'guided-4' };

/** The pool state whose latent row r of the batch carries, or -1. */
function stateOf(sample: Float32Array, r: number): number {
  const x = sample.subarray(r * per(), (r + 1) * per());
  for (let s = 0; s < pool.t.length; s++) if (state(s).every((v, j) => v === x[j])) return s;
  return -1;
}

for (const phase of [stage1, round]) {
  test(`${phase.kind}: rows drawn from the pool carry its latent, timestep, prompt and scale`, async () => {
    const feeds = await makeBatch(context(phase, 1), rngFor(0, 'batch'));
    const sample = feeds.sample.data as Float32Array;
    const ts = Array.from(feeds.timestep.data as ArrayLike<number | bigint>, Number);
    const scales = feeds.guidance_scale.data as Float32Array;
    const ctx = feeds.encoder_hidden_states.data as Float32Array;
    for (let r = 0; r < 6; r++) {
      const s = stateOf(sample, r);
      assert.ok(s >= 0, `row ${r} is a visited latent`);
      const k = Math.floor(s / STEPS);
      assert.equal(ts[r], pool.t[s], `row ${r}: the state's timestep`);
      assert.equal(scales[r], pool.scale[k], `row ${r}: the trajectory's scale`);
      const p = pool.prompt[k];
      assert.deepEqual(ctx.subarray(r * row(), (r + 1) * row()), data.embeddings.subarray(p * row(), (p + 1) * row()), `row ${r}: the trajectory's prompt`);
      // a round keeps the timestep its step was drawn at: one of the 4-step grid's
      if (phase.kind === 'round') assert.ok(levels.grid(4).includes(ts[r]), `row ${r}: t ${ts[r]} on the 4-step grid`);
    }
  });
}

test('a share of 0 draws the batch exactly as a job without a pool; a share of 1/2 mixes both', async () => {
  const none = await makeBatch(context(stage1, 0, false), rngFor(0, 'batch'));
  const zero = await makeBatch(context(stage1, 0), rngFor(0, 'batch'));
  for (const name of Object.keys(none)) assert.deepEqual(zero[name].data, none[name].data, name);
  let fromPool = 0;
  for (let b = 0; b < 4; b++) {
    const half = await makeBatch(context(stage1, 0.5), rngFor(b, 'batch'));
    for (let r = 0; r < 6; r++) if (stateOf(half.sample.data as Float32Array, r) >= 0) fromPool++;
  }
  assert.ok(fromPool > 3 && fromPool < 21, `${fromPool} of 24 rows from the pool at share 1/2`);
});

test('a job with visited latents samples its pool once and records it in every student', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'visited-'));
  try {
    const logs: string[] = [];
    const r = await runDistillation(
      { mode: 'guided', teacher: 'test/fixtures/tiny-sd', out: join(tmp, 'job'), fromSteps: 2, toSteps: 1, iterations: 2, batchSize: 2, visitedShare: 0.5, visitedTrajectories: 3 },
      { onLog: (m) => logs.push(m) },
    );
    assert.equal(logs.filter((m) => m.startsWith('visited: 6 latents of 3 teacher trajectories at 2 steps')).length, 1, logs.join('\n'));
    for (const s of r.students) assert.deepEqual(loadModelFolder(s.dir).distill?.visited, { share: 0.5, trajectories: 3, steps: 2 });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a pool that would not fit in memory is refused before anything is sampled or written, with the figure', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'visited-big-'));
  try {
    const logs: string[] = [];
    await assert.rejects(
      runDistillation({ mode: 'guided', teacher: 'test/fixtures/tiny-sd', out: join(tmp, 'job'), fromSteps: 2, toSteps: 1, iterations: 1, batchSize: 2, visitedShare: 0.5, visitedTrajectories: 100_000_000 }, { onLog: (m) => logs.push(m) }),
      /the visited latents \(100000000 trajectories x 2 steps\) would take 204\.8 GB, more than half of the [\d.]+ GB available: use fewer --visited-trajectories/,
    );
    assert.deepEqual(logs, [], 'nothing was loaded or sampled');
    assert.ok(!existsSync(join(tmp, 'job')), 'no job folder to trip a later run with fewer trajectories');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
