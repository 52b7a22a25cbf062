/**
 * Distils an embedded teacher (models/emoji-base, or the 64x64 family with --teacher) into the shipped
 * guided students models/<prefix>{8,4,2,1} (emoji-base -> emoji-guided-N): guided distillation, stage 1 at 16 steps, then rounds 16 -> 8 -> 4
 * -> 2 -> 1 (docs/DISTILLATION.md). Resumable: run it again after a stop and it continues.
 *
 *   npx tsx scripts/distill-embedded.ts [--teacher models/emoji-base] [--work .cache/distill-emoji]
 *       [--iterations 600] [--stage1-iterations 40000] [--from-steps 16] [--batch 32] [--lr 2e-4] [--stage1-lr 1e-3]
 *       [--student-channels 32] [--stage1-init <student folder>] [--threads 1] [--student-prefix <name>-guided-] [--install [--half-weights]]
 *
 * The data is the teacher's own training set, chosen by the distillation job (emoji-base: its Noto
 * emoji; the 64x64 family: its seven styles with plain and styled captions).
 *
 * The defaults are the shipped recipe (about 75 minutes on one core of this project's CPU machine);
 * --student-channels 0 distils students at the teacher's width (minutes, not an hour).
 *
 * --install copies the finished students into models/ (UNet ONNX, config, scheduler, distill.json,
 * model_index.json with "base": "../emoji-base"; the training safetensors stay in the work folder to
 * keep the extension small; --half-weights also stores the UNet's weights as float16, half-weights.ts).
 * An existing models/emoji-guided-N is replaced only by --install.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, saveModel } from '../src/sidecar/graph';
import { runDistillation } from '../src/sidecar/pipelines/distill/job';
import { storeWeightsAsHalf } from '../src/sidecar/pipelines/distill/half-weights';
import { studentCard } from './distill/student-card';

const { values: a } = parseArgs({
  options: {
    teacher: { type: 'string', default: 'models/emoji-base' },
    work: { type: 'string', default: '.cache/distill-emoji' },
    // The shipped recipe (docs/DISTILLATION.md): a 32-channel student, a long stage 1, short rounds.
    iterations: { type: 'string', default: '600' },
    'stage1-iterations': { type: 'string', default: '40000' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '2e-4' },
    'stage1-lr': { type: 'string', default: '1e-3' },
    'guidance-range': { type: 'string', default: '1,5' },
    /** Stage 1's step count: the students' target is the teacher at this many steps (rounds halve it down to 1). */
    'from-steps': { type: 'string', default: '16' },
    'student-channels': { type: 'string', default: '32' },
    /** Stage 1's student starts from this student (folder or UNet file) instead of the teacher's channels. */
    'stage1-init': { type: 'string' },
    /** The steps rounds distil (targets.ts Trajectory): grid or scheduler. */
    trajectory: { type: 'string', default: 'scheduler' },
    /** Share of each batch drawn from latents the teacher's own sampler visits (visited.ts); 0 = noised drawings only. */
    'visited-share': { type: 'string', default: '0' },
    'visited-trajectories': { type: 'string', default: '1024' },
    threads: { type: 'string', default: '1' },
    install: { type: 'boolean', default: false },
    'half-weights': { type: 'boolean', default: false },
    models: { type: 'string', default: 'models' },
    /** The installed students' names: <prefix><steps>; default from the teacher's ("emoji-base" -> "emoji-guided-"). */
    'student-prefix': { type: 'string' },
  },
});

/** The teacher's folder name, which the installed students name as their base. */
const TEACHER = basename(resolve(a.teacher!));
const PREFIX = a['student-prefix'] ?? `${TEACHER.replace(/-base$/, '')}-guided-`;

async function main(): Promise<void> {
  const work = resolve(a.work!);
  const range = a['guidance-range']!.split(',').map(Number) as [number, number];
  const t0 = Date.now();
  let last = 0;
  const since: number[] = [];
  const r = await runDistillation({
    mode: 'guided', teacher: resolve(a.teacher!), out: work, fromSteps: Number(a['from-steps']), toSteps: 1,
    iterations: Number(a.iterations), stage1Iterations: Number(a['stage1-iterations']),
    batchSize: Number(a.batch), learningRate: Number(a.lr), stage1LearningRate: Number(a['stage1-lr']), guidanceRange: range,
    studentChannels: Number(a['student-channels']), stage1Init: a['stage1-init'], trajectory: a.trajectory as 'grid' | 'scheduler',
    visitedShare: Number(a['visited-share']), visitedTrajectories: Number(a['visited-trajectories']), resume: existsSync(join(work, 'distill-state.json')),
  }, {
    threads: Number(a.threads),
    onLog: (m) => console.log(`[${new Date().toISOString()}] ${m}`),
    onProgress: (p) => {
      // One batch's loss swings 3x with its noise levels; the mean since the last line is what to watch.
      since.push(p.loss);
      if (Date.now() - last < 15000 && p.step !== p.totalSteps) return;
      last = Date.now();
      const mean = since.reduce((x, y) => x + y, 0) / since.length;
      console.log(`[${new Date().toISOString()}] ${p.phase} ${p.round}/${p.rounds} (${p.studentSteps} steps) step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(5)} (mean of ${since.length}: ${mean.toFixed(5)}) ${p.stepsPerSec.toFixed(2)} it/s ETA ${(p.etaSec / 60).toFixed(1)} min`);
      since.length = 0;
    },
  });
  console.log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min; final losses ${r.finalLoss.map((x) => x.toFixed(5)).join(', ')}`);
  if (!a.install) return;
  // The shipped set is {8, 4, 2, 1} whatever stage 1's step count (a 64-step stage 1 also makes 32 and 16).
  for (const s of r.students.filter((x) => x.kind === 'round' && x.steps <= 8)) install(s.dir, join(resolve(a.models!), `${PREFIX}${s.steps}`));
}

/** A shipped student: the round's folder without the training weights, based on ../<teacher>. */
function install(from: string, to: string): void {
  const tmp = `${to}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'unet'), { recursive: true });
  for (const f of ['unet/model.onnx', 'unet/config.json', 'scheduler', 'distill.json']) cpSync(join(from, f), join(tmp, f), { recursive: true });
  if (a['half-weights']) {
    const g = loadModel(join(from, 'unet', 'model.onnx'));
    storeWeightsAsHalf(g);
    saveModel(g, join(tmp, 'unet', 'model.onnx'));
  }
  const index = JSON.parse(readFileSync(join(from, 'model_index.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(tmp, 'model_index.json'), `${JSON.stringify({ ...index, base: `../${TEACHER}` }, null, 2)}\n`);
  const distill = JSON.parse(readFileSync(join(from, 'distill.json'), 'utf8')) as Record<string, unknown>;
  const teacher = distill.teacher as Record<string, unknown>;
  const storage = a['half-weights'] ? 'float16 weights, float32 compute' : 'float32';
  const shipped = { ...distill, teacher: { ...teacher, name: TEACHER, dir: `../${TEACHER}` }, base: TEACHER, weights_storage: storage };
  writeFileSync(join(tmp, 'distill.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  const unetConfig = JSON.parse(readFileSync(join(from, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
  const mb = statSync(join(tmp, 'unet', 'model.onnx')).size / 1e6;
  const card = { teacher: TEACHER, prefix: PREFIX, stage1Dir: join(resolve(a.work!), `guided-${a['from-steps']}`), command: process.argv.slice(2).join(' ') };
  writeFileSync(join(tmp, 'README.md'), studentCard(shipped, unetConfig, mb, card));
  rmSync(to, { recursive: true, force: true });
  renameSync(tmp, to);
  console.log(`installed ${to}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
