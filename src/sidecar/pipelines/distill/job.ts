/**
 * The distillation job: `runDistillation(request, { onProgress, isCancelled })`. Read top to bottom:
 *
 *   1. resolve   check the request, find the teacher, plan the phases, open or create `out`
 *   2. data      prompts and clean latents (data.ts)
 *   3. phases    for each phase not yet done: student = copy of its teacher (+ w input for guided),
 *                train (batch.ts targets, one training-step graph per step), checkpoint every
 *                `checkpointEvery` steps and on cancel, then write the round's model folder
 *   4. result    the folders written, the losses, the time
 *
 * The job's state lives in `out/distill-state.json` (phases done) and `out/checkpoint/phase-<k>.safetensors`
 * (the trainer's parameters and AdamW moments, atomic): a resumed job skips finished phases and
 * continues the running one from its last checkpoint with the same random streams.
 */
import { createHash } from 'node:crypto';
import { freemem } from 'node:os';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { makeFoldersSync } from '../../io/folders';
import { dirname, join, relative, resolve } from 'node:path';
import { rngFor } from '../../graph/init';
import { modelRoots, resolveModel } from '../../io/model-discovery';
import { modelHash, type ModelFolder } from '../../io/model-folder';
import { componentBytes } from '../../io/model-file';
import { countWeights, loadModel } from '../../graph/onnx';
import { writeAtomic } from '../../io/atomic';
import { checkStudentChannels, NarrowUnetError, unetFamilyConfig } from '../../nn/narrow-unet';
import { Trainer } from '../../train/trainer';
import type { FrozenPlacement } from '../../train/frozen';
import { makeBatch } from './batch';
import { emojiData, stylesData, teacherData, DEFAULT_PROMPTS, type DistillData } from './data';
import { writeStudentFolder } from './export';
import { planPhases, resolveRequest, DistillRequestError, type DistillRequest, type Phase, type ResolvedRequest } from './plan';
import { exportStudent, studentGraph, studentTrainStep, type StudentSpec } from './student';
import type { LoraSite } from '../../train';
import { NoiseLevels } from './targets';
import { openTeacher, Teacher } from './teacher';
import { visitedPool, visitedPoolBytes, type VisitedPool } from './visited';
import { distillLoraRank } from '../core/model-size';

export interface DistillProgress {
  /** 'stage1' or 'round', the phase's index (1-based) and how many phases in all. */
  phase: Phase['kind'];
  round: number;
  rounds: number;
  /** Steps the phase's student samples with. */
  studentSteps: number;
  step: number;
  totalSteps: number;
  loss: number;
  stepsPerSec: number;
  /** Seconds until the whole job ends at the current rate. */
  etaSec: number;
}

export interface DistillOptions {
  onProgress?(p: DistillProgress): void;
  /** Checked before every training step; when true, the job checkpoints and throws DistillCancelledError. */
  isCancelled?(): boolean;
  onLog?(message: string): void;
  threads?: number;
  /** Where the student's frozen weights live (train/frozen.ts; default 'auto': inputs above 1 GB). */
  frozen?: FrozenPlacement | 'auto';
}

export interface DistillResult {
  /** Absolute folders of the students written, one per phase, in order. */
  students: Array<{ dir: string; steps: number; kind: Phase['kind'] }>;
  /** Mean loss of the last 10% of each phase's steps run in this call. */
  finalLoss: number[];
  seconds: number;
}

export class DistillCancelledError extends Error {
  constructor(readonly checkpoint: string) {
    super(`distillation cancelled; resume with --resume (checkpoint ${checkpoint})`);
    this.name = 'DistillCancelledError';
  }
}

interface JobState {
  format: 'diffusion-studio-distill-1';
  mode: string;
  teacher: string;
  toSteps: number;
  fromSteps: number;
  /** 0 (absent in older jobs) = the teacher's width. */
  studentChannels?: number;
  /** Every other setting that shapes the trained weights (absent in older jobs: not compared). */
  settings?: Record<string, unknown>;
  phasesDone: number;
}

/**
 * What a resumed job must share with the job it continues: everything that shapes the weights. A
 * changed learning rate or guidance range would silently train half a student one way and half another.
 * Not here: where checkpoints go and how often, which folders are searched for the teacher.
 */
function trainingSettings(r: ResolvedRequest): Record<string, unknown> {
  // stage 1 exists in guided jobs only; the guidance range is what a guided student learns, the scale
  // what a progressive teacher samples with
  const mode = r.mode === 'guided'
    ? { stage1Iterations: r.stage1Iterations, stage1LearningRate: r.stage1LearningRate, guidanceRange: r.guidanceRange, ...(r.stage1Init ? { stage1Init: resolve(r.stage1Init) } : {}) }
    : { guidanceScale: r.guidanceScale };
  return {
    iterations: r.iterations, batchSize: r.batchSize, learningRate: r.learningRate, ...mode, loraRank: r.loraRank, trajectory: r.trajectory, seed: r.seed,
    visitedShare: r.visitedShare, ...(r.visitedShare > 0 ? { visitedTrajectories: r.visitedTrajectories } : {}),
    data: r.data ?? 'default', prompts: r.prompts ? createHash('sha256').update(JSON.stringify(r.prompts)).digest('hex').slice(0, 16) : 'default',
  };
}

/** "learningRate 0.0001 -> 0.0002, guidanceRange [1,5] -> [1,8]" for every setting that differs. */
function settingChanges(before: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return Object.keys(now).filter((k) => k in before && show(before[k]) !== show(now[k])).map((k) => `${k} ${show(before[k])} -> ${show(now[k])}`);
}

export async function runDistillation(request: DistillRequest, options: DistillOptions = {}): Promise<DistillResult> {
  const t0 = performance.now();
  // 1. Resolve.
  const r = resolveRequest(request);
  const teacher = resolveModel(r.teacher, modelRoots(r.modelRoots ?? []));
  // A large teacher (Stable Diffusion) trains LoRA adapters unless the request says otherwise, as
  // Imagic does: all 860 M weights with their optimiser state do not fit most machines. A narrower
  // student is a new network and trains every weight (resolveRequest refuses it with an explicit rank).
  r.loraRank = r.studentChannels > 0 || r.stage1Init ? 0 : distillLoraRank(request.loraRank, countWeights(teacher.files.unet));
  const start = r.stage1Init ? startWeightsFile(r.stage1Init) : undefined;
  const base = rootOf(teacher);
  const phases = planPhases(r);
  const out = resolve(r.out);
  const narrow = r.studentChannels > 0 ? planNarrow(teacher, r.studentChannels) : undefined;
  // Refused before the job folder exists when it does not fit: building the student checks every weight.
  if (start) studentGraph({ unetPath: teacher.files.unet, addGuidance: true, loraRank: 0, startWeights: start, ...(narrow ? { narrow: narrow.spec } : {}) });
  checkVisitedFits(r, teacher);
  const state = openState(out, r, teacher);
  const levels = new NoiseLevels(teacher.schedulerConfig);
  const kind = teacher.schedulerConfig.prediction_type;
  const log = options.onLog ?? (() => {});
  // 2. Data.
  const first = await Teacher.open(teacher.files.unet, options.threads);
  const data = await loadData(r, teacher, base, first, levels);
  log(`data: ${data.latents.length / data.latentShape.reduce((a, b) => a * b, 1)} latents, ${data.prompts.length} prompts`);
  const visited = r.visitedShare > 0 && state.phasesDone < phases.length ? await sampleVisited(r, first, data, levels, log) : undefined;
  await first.release();
  // 3. Phases.
  const result: DistillResult = { students: [], finalLoss: [], seconds: 0 };
  const hash = await modelHash(teacher);
  const remaining = (k: number) => phases.slice(k).reduce((a, p) => a + p.iterations, 0);
  for (let k = 0; k < phases.length; k++) {
    const phase = phases[k];
    const dir = join(out, phase.name);
    if (k < state.phasesDone || existsSync(join(dir, 'distill.json'))) {
      result.students.push({ dir, steps: phase.steps, kind: phase.kind });
      continue;
    }
    const prevUnet = k === 0 ? teacher.files.unet : join(out, phases[k - 1].name, 'unet', 'model.onnx');
    const spec: StudentSpec = {
      unetPath: prevUnet, addGuidance: r.mode === 'guided', loraRank: r.loraRank,
      ...(k === 0 && narrow ? { narrow: narrow.spec } : {}), ...(k === 0 && start ? { startWeights: start } : {}),
    };
    const losses = await trainPhase({ r, phase, k, phases, spec, data, visited, levels, kind, out, remaining: remaining(k + 1), options });
    result.finalLoss.push(tailMean(losses));
    // Exported once the phase's sessions are released and its step graph is out of reach: at Stable
    // Diffusion size each holds a copy of the UNet's 3.4 GB.
    writeStudentFolder({
      dir, graph: exportStudent(spec, losses.weights, losses.lora), weights: losses.weights, base, teacher, guided: r.mode === 'guided', unetConfig: narrow?.unetConfig,
      distill: distillInfo(r, phase, teacher, base, hash, dir, tailMean(losses), data.rows),
    });
    state.phasesDone = k + 1;
    saveState(out, state);
    rmSync(checkpointPath(out, k), { force: true });
    result.students.push({ dir, steps: phase.steps, kind: phase.kind });
    log(`phase ${k + 1}/${phases.length} (${phase.name}) done: ${dir}`);
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

interface PhaseArgs {
  r: ResolvedRequest;
  phase: Phase;
  k: number;
  phases: Phase[];
  spec: StudentSpec;
  data: DistillData;
  visited?: VisitedPool;
  levels: NoiseLevels;
  kind: ModelFolder['schedulerConfig']['prediction_type'];
  out: string;
  /** Iterations of the phases after this one (for the ETA). */
  remaining: number;
  options: DistillOptions;
}

/** The phase's losses, its trained tensors, and for LoRA the adapter sites (to merge on export). */
type PhaseLosses = number[] & { weights: ReturnType<Trainer['params']>; lora: LoraSite[] };

async function trainPhase(a: PhaseArgs): Promise<PhaseLosses> {
  const { r, phase, k } = a;
  // A narrower student's stage 1 is long training from a poor start (nn/narrow-unet.ts): its EMA
  // (Polyak averaging) is what gets saved, as for a stage 1 started from an earlier student (also
  // long: it learns another target). A copy of the teacher starts close and trains briefly.
  const emaDecay = a.spec.narrow || a.spec.startWeights ? Math.max(0, Math.min(0.999, 1 - 10 / phase.iterations)) : undefined;
  const lr = phase.kind === 'stage1' ? r.stage1LearningRate : r.learningRate;
  const { step, student } = studentTrainStep(a.spec, { lr, clipNorm: 1, weightDecay: 0, iterations: phase.iterations, emaDecay, frozen: a.options.frozen });
  // A LoRA student fed its frozen base shares it with the teacher; otherwise the teacher's session
  // (opened next) holds its own copy of the UNet's weights: about the file's size.
  const sharing = student.teacher !== undefined && step.frozen.size > 0;
  const trainer = await Trainer.create(step, {
    seed: r.seed, threads: a.options.threads,
    memory: { what: `distillation (${phase.name})`, dims: { batch: r.batchSize }, reserve: sharing ? 0 : componentBytes(a.spec.unetPath), hint: 'use --lora, a smaller --batch-size, or a machine with more memory' },
  });
  const ckpt = checkpointPath(a.out, k);
  if (existsSync(ckpt)) trainer.loadCheckpoint(ckpt);
  const teacher = await openTeacher(a.spec.unetPath, student.teacher, trainer.frozenFeeds, a.options.threads);
  if (teacher.sharesWeights) a.options.onLog?.('the teacher runs on the weights the LoRA student is fed (one copy of the UNet)');
  const scaleRange = scaleRangeOf(r);
  const ctx = { phase, data: a.data, teacher, levels: a.levels, kind: a.kind, batchSize: r.batchSize, scaleRange, studentGuided: student.guided, trajectory: r.trajectory, visited: a.visited, visitedShare: r.visitedShare };
  const losses: number[] = [];
  const started = performance.now();
  const startStep = trainer.step;
  try {
    while (trainer.step < phase.iterations) {
      if (a.options.isCancelled?.()) {
        trainer.saveCheckpoint(ckpt, { phase: String(k) });
        throw new DistillCancelledError(ckpt);
      }
      const feeds = await makeBatch(ctx, rngFor(r.seed, `phase:${k}:step:${trainer.step}`));
      const res = await trainer.trainStep(feeds);
      losses.push(res.loss);
      if (trainer.step % r.checkpointEvery === 0 && trainer.step < phase.iterations) trainer.saveCheckpoint(ckpt, { phase: String(k) });
      const rate = (trainer.step - startStep) / ((performance.now() - started) / 1000);
      a.options.onProgress?.({
        phase: phase.kind, round: k + 1, rounds: a.phases.length, studentSteps: phase.steps,
        step: trainer.step, totalSteps: phase.iterations, loss: res.loss, stepsPerSec: rate,
        etaSec: (phase.iterations - trainer.step + a.remaining) / Math.max(rate, 1e-9),
      });
    }
    const weights = new Map([...(emaDecay !== undefined ? trainer.emaParams() : trainer.params())].map(([n, v]) => [n, { ...v, data: (v.data as Float32Array).slice() }]));
    return Object.assign(losses, { weights, lora: student.lora });
  } finally {
    await teacher.release();
    await trainer.dispose();
  }
}

/** The guidance scales a job's batches are drawn at: a guided student's range, a progressive teacher's one scale. */
function scaleRangeOf(r: ResolvedRequest): [number, number] {
  return r.mode === 'guided' ? r.guidanceRange : [r.guidanceScale, r.guidanceScale];
}

/**
 * The visited latents live beside the training step for the whole job: refused before the job folder
 * exists when they would take more than half of the memory available now (a Stable Diffusion latent
 * is 64 KB: 1,024 trajectories x 64 steps of them 4.3 GB).
 */
function checkVisitedFits(r: ResolvedRequest, teacher: ModelFolder): void {
  if (r.visitedShare === 0) return;
  const side = teacher.sampleSize ?? 64;
  const bytes = visitedPoolBytes(r.visitedTrajectories, r.fromSteps, [4, side, side]), available = freemem();
  if (bytes <= available / 2) return;
  const gb = (b: number) => (b / 1e9).toFixed(1);
  throw new DistillRequestError(`the visited latents (${r.visitedTrajectories} trajectories x ${r.fromSteps} steps) would take ${gb(bytes)} GB, more than half of the ${gb(available)} GB available: use fewer --visited-trajectories, or --visited-share 0`);
}

/** The pool of latents the first teacher's sampler visits (visited.ts), drawn from the job's seed. */
async function sampleVisited(r: ResolvedRequest, teacher: Teacher, data: DistillData, levels: NoiseLevels, log: (m: string) => void): Promise<VisitedPool> {
  const t0 = performance.now();
  let shown = 0;
  const onProgress = (done: number, total: number) => {
    if (done < total && (done - shown) * 10 < total) return; // about every 10%
    shown = done;
    log(`visited: sampling the teacher, ${done}/${total} trajectories (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  };
  const pool = await visitedPool(teacher, data, levels, { trajectories: r.visitedTrajectories, steps: r.fromSteps, scaleRange: scaleRangeOf(r), trajectory: r.trajectory, seed: r.seed, onProgress });
  log(`visited: ${pool.t.length} latents of ${r.visitedTrajectories} teacher trajectories at ${r.fromSteps} steps (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return pool;
}

async function loadData(r: ResolvedRequest, teacher: ModelFolder, base: ModelFolder, t: Teacher, levels: NoiseLevels): Promise<DistillData> {
  const source = r.data ?? defaultSource(r, teacher, base);
  if (source === 'emoji') return emojiData(base);
  if (source === 'styles') return stylesData(base);
  const side = teacher.sampleSize ?? 64;
  const [lo, hi] = scaleRangeOf(r);
  return teacherData(base, t, levels, teacher.schedulerConfig.prediction_type, {
    prompts: r.prompts ?? DEFAULT_PROMPTS, count: 64, latentShape: [4, side, side], scale: (lo + hi) / 2, seed: r.seed,
  });
}

/**
 * The data when the request names none: an embedded family's own training set (emoji-base's Noto set;
 * the 64x64 family's seven styles, recognised by its image encoder, which diffusers exports lack, and
 * its 64x64 images), teacher samples for any other model or when prompts are given.
 */
function defaultSource(r: ResolvedRequest, teacher: ModelFolder, base: ModelFolder): 'emoji' | 'styles' | 'teacher' {
  if (r.prompts) return 'teacher';
  const side = (teacher.sampleSize ?? 0) * (teacher.vaeScaleFactor ?? 8);
  if (side === 64 && existsSync(join(base.dir, 'image_encoder', 'model.onnx'))) return 'styles';
  return base.name.startsWith('emoji') ? 'emoji' : 'teacher';
}

/**
 * A narrower student, planned before any training: the teacher's unet/config.json read once for its
 * attention_head_dim (needed to rebuild an embedded-family UNet) and for the fields the students' own
 * config gets (the heads stay, so each head narrows); the teacher's family and the width checked.
 */
function planNarrow(teacher: ModelFolder, channels: number): { spec: { channels: number; headDim: number }; unetConfig: Record<string, unknown> } {
  const path = join(dirname(teacher.files.unet), 'config.json');
  const cfg = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { attention_head_dim?: unknown; block_out_channels?: number[] }) : {};
  if (typeof cfg.attention_head_dim !== 'number') {
    throw new DistillRequestError(`${teacher.files.unet} is not an embedded-family UNet (${path} gives no attention_head_dim); a narrower student can only be built from one`);
  }
  const headDim = cfg.attention_head_dim;
  try {
    const g = loadModel(teacher.files.unet);
    checkStudentChannels(unetFamilyConfig(g, headDim, teacher.files.unet), channels);
  } catch (err) {
    if (err instanceof NarrowUnetError) throw new DistillRequestError(err.message);
    throw err;
  }
  // The last two blocks are the attention levels (the ones a student narrows); an outer level comes first.
  const blocks = cfg.block_out_channels!;
  const inner = blocks[blocks.length - 1], outer = blocks.slice(0, -2);
  const heads = inner / headDim;
  return {
    spec: { channels, headDim },
    unetConfig: { block_out_channels: [...outer, channels, channels], attention_head_dim: channels / heads, distilled_from_channels: inner },
  };
}

/** The UNet file a stage-1 start names: the file itself, or a model folder's unet/model.onnx. */
function startWeightsFile(path: string): string {
  const p = resolve(path);
  const file = existsSync(join(p, 'unet', 'model.onnx')) ? join(p, 'unet', 'model.onnx') : p;
  if (!existsSync(file) || !file.endsWith('.onnx')) throw new DistillRequestError(`the stage-1 start ${path} is neither an ONNX file nor a model folder with unet/model.onnx`);
  return file;
}

/** The folder that holds the text encoder, VAE and tokenizer (a student's base, else the model itself). */
function rootOf(m: ModelFolder): ModelFolder {
  return m.base ? rootOf(m.base) : m;
}

function checkpointPath(out: string, k: number): string {
  return join(out, 'checkpoint', `phase-${k}.safetensors`);
}

function openState(out: string, r: ResolvedRequest, teacher: ModelFolder): JobState {
  const path = join(out, 'distill-state.json');
  const fresh: JobState = { format: 'diffusion-studio-distill-1', mode: r.mode, teacher: teacher.dir, toSteps: r.toSteps, fromSteps: r.fromSteps, studentChannels: r.studentChannels, settings: trainingSettings(r), phasesDone: 0 };
  if (!existsSync(path)) {
    if (existsSync(out) && !r.resume) {
      throw new DistillRequestError(`${out} already exists; choose a new --out folder (or --resume a job there)`);
    }
    makeFoldersSync(join(out, 'checkpoint'));
    saveState(out, fresh);
    return fresh;
  }
  if (!r.resume) throw new DistillRequestError(`${out} holds a distillation job; pass --resume to continue it, or choose a new --out folder`);
  const s = JSON.parse(readFileSync(path, 'utf8')) as JobState;
  // A job from before trajectories were recorded distilled the grid: resuming it on another trajectory would mix the two.
  const trajectory = s.settings && !('trajectory' in s.settings) ? { trajectory: 'grid' } : {};
  // and one from before visited latents trained on noised data alone
  const visited = s.settings && !('visitedShare' in s.settings) ? { visitedShare: 0 } : {};
  const before = { mode: s.mode, teacher: s.teacher, toSteps: s.toSteps, fromSteps: s.fromSteps, studentChannels: s.studentChannels ?? 0, ...trajectory, ...visited, ...s.settings };
  const now = { mode: fresh.mode, teacher: fresh.teacher, toSteps: fresh.toSteps, fromSteps: fresh.fromSteps, studentChannels: r.studentChannels, ...fresh.settings };
  const changed = settingChanges(before, now);
  if (changed.length) {
    throw new DistillRequestError(`cannot resume the job in ${out}: its settings differ (${changed.join(', ')}); resume with the job's own settings, or choose a new --out folder`);
  }
  return s;
}

function saveState(out: string, s: JobState): void {
  writeAtomic(join(out, 'distill-state.json'), [Buffer.from(`${JSON.stringify(s, null, 2)}\n`)]);
}

function tailMean(xs: number[]): number {
  const tail = xs.slice(Math.floor(xs.length * 0.9));
  return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
}

function distillInfo(r: ResolvedRequest, phase: Phase, teacher: ModelFolder, base: ModelFolder, hash: string, dir: string, loss: number, rows?: DistillData['rows']): Record<string, unknown> {
  return {
    kind: r.mode,
    steps: phase.steps,
    scheduler: 'ddim',
    ...(r.mode === 'guided' ? { guidance_range: r.guidanceRange } : { guidance_scale: r.guidanceScale }),
    phase: phase.kind,
    teacher_steps: phase.teacherSteps,
    ...(phase.kind === 'round' ? { trajectory: r.trajectory } : {}),
    ...(r.visitedShare > 0 ? { visited: { share: r.visitedShare, trajectories: r.visitedTrajectories, steps: r.fromSteps } } : {}),
    teacher: { name: teacher.name, dir: relative(dir, teacher.dir), hash },
    base: base.name,
    training: {
      iterations: phase.iterations, batch_size: r.batchSize, learning_rate: phase.kind === 'stage1' ? r.stage1LearningRate : r.learningRate, lr_schedule: 'warm-up, cosine to lr/10', optimizer: 'adamw',
      clip_norm: 1, lora_rank: r.loraRank, ...(r.studentChannels ? { student_channels: r.studentChannels } : {}),
      ...(phase.kind === 'stage1' && r.stage1Init ? { start_weights: relative(dir, resolve(r.stage1Init)) } : {}), seed: r.seed, loss_weighting: 'truncated SNR, max(SNR, 1) in x-space',
      data: r.data ?? defaultSource(r, teacher, base), ...(rows ? { data_rows: rows } : {}), final_loss: Number.isFinite(loss) ? loss : null,
    },
    created: new Date().toISOString(),
  };
}
