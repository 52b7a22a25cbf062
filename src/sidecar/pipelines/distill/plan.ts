/**
 * The request of a distillation job, its checks, and the phases it runs:
 *
 *   progressive  rounds 2N -> N for N = from/2, from/4, ..., to (Salimans & Ho 2022, Algorithm 2)
 *   guided       stage 1: a w-conditioned student reproduces the teacher's guided output at `from`
 *                steps (Meng et al. 2023, section 3.1); stage 2: the same rounds as progressive,
 *                the w input kept (section 3.2)
 */
import type { Trajectory } from './targets';

export type DistillMode = 'progressive' | 'guided';

export interface DistillRequest {
  mode: DistillMode;
  /** The teacher model folder (diffusers ONNX layout) or an embedded model's name. */
  teacher: string;
  /** Folder for the rounds' students and the job's checkpoint (created; an existing one needs resume). */
  out: string;
  /** Sampling steps of the final student (a power of two times smaller than `fromSteps`). */
  toSteps: number;
  /** Steps of the first teacher (default 64). */
  fromSteps?: number;
  /** Training iterations per round (default 500) and for guided stage 1 (default: the same). */
  iterations?: number;
  stage1Iterations?: number;
  batchSize?: number;
  /** AdamW learning rate (default 1e-4, as in both papers; small models like 3e-4). */
  learningRate?: number;
  /** Guided stage 1's learning rate (default: learningRate); a narrower student trains from afar. */
  stage1LearningRate?: number;
  /** Guided: the range of diffusers guidance scales s = 1 + w the student learns (default [1, 5]). */
  guidanceRange?: [number, number];
  /** Progressive: the guidance scale the teacher samples with (default 1: no guidance). */
  guidanceScale?: number;
  /** Prompts to distil on (default: the emoji set for the embedded family, else a short list). */
  prompts?: string[];
  /** 'emoji' (the embedded family's own data) or 'teacher' (teacher samples); default by model. */
  data?: 'emoji' | 'styles' | 'teacher';
  /** Train LoRA adapters of this rank instead of every weight (default 0: every weight). */
  loraRank?: number;
  /**
   * Guided only, embedded-family teachers only: stage 1 trains a narrower UNet with this many channels
   * (initialised from the teacher's leading channels) instead of a copy; 0 = the teacher's width.
   */
  studentChannels?: number;
  /**
   * Guided only: a UNet file (or a student's model folder) whose weights stage 1's student starts
   * from instead of the teacher's (e.g. an earlier job's student of the same width, to aim it at a
   * different step count without training it from afar again); its tensors must match by name and shape.
   */
  stage1Init?: string;
  /**
   * The path a round's steps take between noise levels (targets.ts Trajectory): 'scheduler' (default),
   * the DDIM scheduler's own steps, which generation samples with, or 'grid', trailing grid to trailing
   * grid (the students shipped before 2026-12-06's second set were distilled on it).
   */
  trajectory?: Trajectory;
  /**
   * The share of each batch's rows whose z_t is a latent the teacher's own `fromSteps`-step sampler
   * visited (visited.ts) rather than a noised training latent; default 0 (noised data only).
   */
  visitedShare?: number;
  /** How many teacher trajectories the visited latents come from (default 1024; each gives fromSteps latents). */
  visitedTrajectories?: number;
  seed?: number;
  /** Continue a stopped job in `out` (default false: `out` must not hold one). */
  resume?: boolean;
  /** Steps between checkpoints (default 50). */
  checkpointEvery?: number;
  /** Extra folders to find a teacher named by name. */
  modelRoots?: string[];
}

export interface Phase {
  /** 'stage1' (guided, w-conditioning) or 'round'. */
  kind: 'stage1' | 'round';
  /** Steps the phase's student samples with. */
  steps: number;
  /** Steps of its teacher (the same for stage 1, twice for a round). */
  teacherSteps: number;
  iterations: number;
  /** The student's folder name inside `out`. */
  name: string;
}

export type ResolvedRequest = Required<Omit<DistillRequest, 'prompts' | 'data' | 'modelRoots' | 'stage1Init'>> & Pick<DistillRequest, 'prompts' | 'data' | 'modelRoots' | 'stage1Init'>;

export class DistillRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistillRequestError';
  }
}

export function resolveRequest(r: DistillRequest): ResolvedRequest {
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new DistillRequestError(msg);
  };
  const isPow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
  const s: ResolvedRequest = {
    ...r,
    fromSteps: r.fromSteps ?? 64,
    iterations: r.iterations ?? 500,
    stage1Iterations: r.stage1Iterations ?? r.iterations ?? 500,
    batchSize: r.batchSize ?? 16,
    learningRate: r.learningRate ?? 1e-4,
    stage1LearningRate: r.stage1LearningRate ?? r.learningRate ?? 1e-4,
    guidanceRange: r.guidanceRange ?? [1, 5],
    guidanceScale: r.guidanceScale ?? 1,
    loraRank: r.loraRank ?? 0,
    studentChannels: r.studentChannels ?? 0,
    trajectory: r.trajectory ?? 'scheduler',
    visitedShare: r.visitedShare ?? 0,
    visitedTrajectories: r.visitedTrajectories ?? 1024,
    seed: r.seed ?? 0,
    resume: r.resume ?? false,
    checkpointEvery: r.checkpointEvery ?? 50,
  };
  check(r.mode === 'progressive' || r.mode === 'guided', `mode must be progressive or guided, got ${String(r.mode)}`);
  check(isPow2(s.toSteps), `--to-steps must be a power of two (1, 2, 4, 8 ...), got ${s.toSteps}`);
  check(isPow2(s.fromSteps) && s.fromSteps <= 512, `the first teacher's steps must be a power of two up to 512, got ${s.fromSteps}`);
  check(s.toSteps < s.fromSteps || (r.mode === 'guided' && s.toSteps === s.fromSteps), `--to-steps (${s.toSteps}) must be fewer than the teacher's ${s.fromSteps} steps`);
  check(Number.isInteger(s.iterations) && s.iterations >= 1, `--iterations must be a whole number >= 1, got ${s.iterations}`);
  check(Number.isInteger(s.stage1Iterations) && s.stage1Iterations >= 1, `stage-1 iterations must be >= 1, got ${s.stage1Iterations}`);
  check(Number.isInteger(s.batchSize) && s.batchSize >= 1 && s.batchSize <= 4096, `batch size must be 1..4096, got ${s.batchSize}`);
  check(s.learningRate > 0 && s.learningRate < 1, `learning rate must be in (0, 1), got ${s.learningRate}`);
  check(s.stage1LearningRate > 0 && s.stage1LearningRate < 1, `stage-1 learning rate must be in (0, 1), got ${s.stage1LearningRate}`);
  const [lo, hi] = s.guidanceRange;
  check(lo >= 0 && hi >= lo && hi <= 100, `guidance range must be 0 <= min <= max <= 100, got [${lo}, ${hi}]`);
  check(s.guidanceScale >= 0 && s.guidanceScale <= 100, `guidance scale must be 0..100, got ${s.guidanceScale}`);
  check(Number.isInteger(s.loraRank) && s.loraRank >= 0 && s.loraRank <= 256, `LoRA rank must be 0..256, got ${s.loraRank}`);
  check(Number.isInteger(s.studentChannels) && s.studentChannels >= 0, `student channels must be a whole number, got ${s.studentChannels}`);
  check(s.studentChannels === 0 || r.mode === 'guided', 'a narrower student (--student-channels) is for guided distillation only: progressive rounds start from a copy of their teacher');
  check(s.studentChannels === 0 || s.loraRank === 0, 'a narrower student trains every weight; it cannot be combined with --lora');
  check(!r.stage1Init || r.mode === 'guided', 'a stage-1 start (--stage1-init) is for guided distillation only: progressive rounds start from a copy of their teacher');
  check(!r.stage1Init || s.loraRank === 0, 'a stage-1 start (--stage1-init) trains every weight; it cannot be combined with --lora');
  check(s.trajectory === 'grid' || s.trajectory === 'scheduler', `trajectory must be grid or scheduler, got ${String(s.trajectory)}`);
  check(s.visitedShare >= 0 && s.visitedShare <= 1, `the share of visited latents must be 0..1, got ${s.visitedShare}`);
  check(Number.isInteger(s.visitedTrajectories) && s.visitedTrajectories >= 1, `visited trajectories must be a whole number >= 1, got ${s.visitedTrajectories}`);
  check(Number.isInteger(s.checkpointEvery) && s.checkpointEvery >= 1, `checkpoint interval must be >= 1, got ${s.checkpointEvery}`);
  check(!r.prompts || r.prompts.length > 0, 'prompts, when given, must not be empty');
  return s;
}

/** The job's phases, in order. */
export function planPhases(r: ResolvedRequest): Phase[] {
  const phases: Phase[] = [];
  if (r.mode === 'guided') {
    phases.push({ kind: 'stage1', steps: r.fromSteps, teacherSteps: r.fromSteps, iterations: r.stage1Iterations, name: `guided-${r.fromSteps}` });
  }
  for (let n = r.fromSteps / 2; n >= r.toSteps; n /= 2) {
    phases.push({ kind: 'round', steps: n, teacherSteps: 2 * n, iterations: r.iterations, name: `${r.mode}-${n}` });
  }
  return phases;
}
