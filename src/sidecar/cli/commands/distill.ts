/**
 * `diffusion-studio distill --mode progressive|guided --teacher <model> --to-steps N --out <dir>`:
 * progressive (Salimans & Ho 2022) or guided (Meng et al. 2023) distillation as a resumable job. Each
 * finished round is a model folder under --out; Ctrl-C checkpoints and stops, --resume continues.
 */
import type { Command } from 'commander';
import { runDistillation, type DistillProgress } from '../../pipelines/distill/job';
import type { DistillRequest } from '../../pipelines/distill/plan';
import { asUserError, UserError } from '../errors';
import { collect, int, num } from '../options';

interface DistillCliOptions {
  mode: string;
  teacher: string;
  toSteps: string;
  out: string;
  fromSteps: string;
  iterations?: string;
  stage1Iterations?: string;
  batchSize?: string;
  lr?: string;
  stage1Lr?: string;
  guidanceRange?: string;
  guidance?: string;
  prompts?: string;
  data?: string;
  lora?: string;
  studentChannels?: string;
  stage1Init?: string;
  trajectory?: string;
  visitedShare?: string;
  visitedTrajectories?: string;
  seed?: string;
  resume?: boolean;
  modelsDir: string[];
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('distill')
    .description('distil a model into a few-step student (progressive, or guided: guidance folded into one UNet run)')
    .requiredOption('--mode <mode>', 'progressive or guided')
    .requiredOption('--teacher <name|dir>', 'the model to distil (name from `models`, or a diffusers ONNX folder)')
    .requiredOption('--to-steps <n>', 'sampling steps of the final student (a power of two)')
    .requiredOption('--out <dir>', 'folder for the students (one per round) and the job\'s checkpoint')
    .option('--from-steps <n>', 'steps of the first teacher (a power of two)', '64')
    .option('--iterations <k>', 'training iterations per round (default 500)')
    .option('--stage1-iterations <k>', 'guided: iterations of stage 1 (default: --iterations)')
    .option('--batch-size <n>', 'rows per training step (default 16)')
    .option('--lr <rate>', 'AdamW learning rate (default 1e-4)')
    .option('--stage1-lr <rate>', 'guided: learning rate of stage 1 (default: --lr)')
    .option('--guidance-range <min,max>', 'guided: guidance scales s = 1 + w the student learns (default 1,5)')
    .option('--guidance <s>', 'progressive: the guidance scale the teacher samples with (default 1 = none)')
    .option('--prompts <file>', 'text file, one prompt per line, to distil on (default: the model\'s data or a short list)')
    .option('--data <source>', 'emoji (emoji-base\'s images), styles (the 64x64 family\'s seven emoji sets) or teacher (teacher samples)')
    .option('--lora <rank>', 'train LoRA adapters of this rank instead of every weight; 0: every weight (default: 4 for a teacher over 50 M UNet weights, e.g. Stable Diffusion, else 0)')
    .option('--student-channels <n>', 'guided, embedded-family teachers: stage 1 trains a narrower UNet of this width (faster per step)')
    .option('--stage1-init <dir>', 'guided: stage 1 starts from this student (a model folder or UNet .onnx of the same width) instead of the teacher, e.g. to aim it at another --from-steps')
    .option('--trajectory <path>', 'the steps rounds distil: scheduler (as the DDIM scheduler steps, which generation uses; default) or grid (trailing grid to trailing grid, as students before 2026-12-06 were made)')
    .option('--visited-share <p>', 'share of each batch (0..1) drawn from latents the teacher\'s own sampler visits instead of noised training images (default 0)')
    .option('--visited-trajectories <k>', 'teacher trajectories those latents come from, sampled once at the job\'s start (default 1024)')
    .option('--seed <n>', 'seed of the training randomness (default 0)')
    .option('--resume', 'continue the job in --out where it stopped')
    .option('--models-dir <dir>', 'another folder of models (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .action((opts: DistillCliOptions) => distill(opts));
}

async function readPrompts(file: string | undefined): Promise<string[] | undefined> {
  if (!file) return undefined;
  const { readFileSync, existsSync } = await import('node:fs');
  if (!existsSync(file)) throw new UserError(`--prompts ${file}: no such file`);
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  if (!lines.length) throw new UserError(`--prompts ${file} holds no prompts`);
  return lines;
}

export async function toRequest(o: DistillCliOptions): Promise<DistillRequest> {
  if (o.mode !== 'progressive' && o.mode !== 'guided') throw new UserError(`--mode must be progressive or guided, got "${o.mode}"`);
  if (o.trajectory !== undefined && o.trajectory !== 'grid' && o.trajectory !== 'scheduler') throw new UserError(`--trajectory must be grid or scheduler, got "${o.trajectory}"`);
  if (o.data !== undefined && o.data !== 'emoji' && o.data !== 'styles' && o.data !== 'teacher') throw new UserError(`--data must be emoji, styles or teacher, got "${o.data}"`);
  let range: [number, number] | undefined;
  if (o.guidanceRange !== undefined) {
    const parts = o.guidanceRange.split(',').map((p) => num('--guidance-range', p));
    if (parts.length !== 2) throw new UserError(`--guidance-range must be min,max (e.g. 1,5), got "${o.guidanceRange}"`);
    range = [parts[0]!, parts[1]!];
  }
  return {
    mode: o.mode, teacher: o.teacher, out: o.out,
    toSteps: int('--to-steps', o.toSteps)!, fromSteps: int('--from-steps', o.fromSteps),
    iterations: int('--iterations', o.iterations), stage1Iterations: int('--stage1-iterations', o.stage1Iterations),
    batchSize: int('--batch-size', o.batchSize), learningRate: num('--lr', o.lr), stage1LearningRate: num('--stage1-lr', o.stage1Lr),
    guidanceRange: range, guidanceScale: num('--guidance', o.guidance),
    prompts: await readPrompts(o.prompts), data: o.data as DistillRequest['data'],
    loraRank: int('--lora', o.lora), studentChannels: int('--student-channels', o.studentChannels), stage1Init: o.stage1Init, trajectory: o.trajectory as DistillRequest['trajectory'],
    visitedShare: num('--visited-share', o.visitedShare), visitedTrajectories: int('--visited-trajectories', o.visitedTrajectories), seed: int('--seed', o.seed), resume: !!o.resume, modelRoots: o.modelsDir,
  };
}

function line(p: DistillProgress): string {
  const eta = p.etaSec >= 3600 ? `${(p.etaSec / 3600).toFixed(1)} h` : p.etaSec >= 60 ? `${(p.etaSec / 60).toFixed(1)} min` : `${p.etaSec.toFixed(0)} s`;
  return `round ${p.round}/${p.rounds} (${p.phase}, ${p.studentSteps} steps) step ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)} ${p.stepsPerSec.toFixed(2)} steps/s ETA ${eta}`;
}

async function distill(o: DistillCliOptions): Promise<void> {
  const request = await toRequest(o);
  let cancelled = false;
  const onSigint = () => {
    if (cancelled) process.exit(130);
    cancelled = true;
    process.stderr.write('\nstopping after this step (checkpointing); Ctrl-C again to quit at once\n');
  };
  process.on('SIGINT', onSigint);
  let last = 0;
  try {
    const result = await runDistillation(request, {
      isCancelled: () => cancelled,
      onLog: (m) => process.stderr.write(`${m}\n`),
      onProgress: (p) => {
        const now = Date.now();
        if (now - last < 2000 && p.step !== p.totalSteps) return;
        last = now;
        process.stderr.write(`${line(p)}\n`);
      },
    });
    if (o.json) console.log(JSON.stringify(result, null, 2));
    else for (const s of result.students) console.log(s.dir);
  } catch (err) {
    throw asUserError(err);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
