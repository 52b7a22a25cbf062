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
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, saveModel } from '../src/sidecar/graph';
import { runDistillation } from '../src/sidecar/pipelines/distill/job';
import { storeWeightsAsHalf } from '../src/sidecar/pipelines/distill/half-weights';

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

/** The model card, from what the student's own metadata says (so it cannot drift from the weights). */
function modelCard(d: Record<string, unknown>, unet: Record<string, unknown>, mb: number): string {
  const steps = Number(d.steps), range = d.guidance_range as [number, number];
  const t = d.training as Record<string, unknown>, teacher = d.teacher as Record<string, unknown>;
  const width = (unet.block_out_channels as number[]).at(-1)!, from = unet.distilled_from_channels as number | undefined;
  const stage1 = readStage1();
  return `# ${PREFIX}${steps} — guided student of ${TEACHER} for ${steps} step${steps > 1 ? 's' : ''}

A distilled UNet that samples ${TEACHER}'s text-to-image task in **${steps} DDIM step${steps > 1 ? 's' : ''} with one UNet
evaluation per step**, guidance included: the guidance scale is a model input (\`guidance_scale\`,
diffusers' convention s = 1 + w, trained for s in [${range.join(', ')}]), so the unconditional batch is gone.

- Method: guided distillation (Meng et al., 2023): stage 1 matches the teacher's guided output for s
  drawn from the range; stage 2 halves the steps round by round (progressive distillation, Salimans &
  Ho, 2022) down to ${steps}. This round was distilled from the ${d.teacher_steps}-step student${d.trajectory === 'scheduler' ? ',\n  its targets following the steps the DDIM scheduler takes (docs/DISTILLATION.md, "Trajectory")' : ''}${visitedClause(d.visited)}.
- Architecture: ${TEACHER}'s UNet ${from ? `narrowed from ${from} to **${width} channels** where the teacher has ${from} (docs/DISTILLATION.md, "A narrower student"): about half the cost of one evaluation; stage 1 trained it ${stage1}` : `at the teacher's width (${width} channels)`}.
- Teacher: ${TEACHER}, UNet hash ${String(teacher.hash)}.
- Components: only \`unet/\` is stored here; the text encoder, VAE, tokenizer (and image encoder, for eval) come from
  the base folder (\`model_index.json\` "base": "../${TEACHER}").
- Weights: ${String(d.weights_storage)} (${mb.toFixed(1)} MB).
- Training of this round: ${t.iterations} iterations, batch ${t.batch_size}, ${t.optimizer} lr ${t.learning_rate} (${t.lr_schedule}),
  clip norm ${t.clip_norm}, loss ${t.loss_weighting}, seed ${t.seed}; final loss ${Number(t.final_loss).toPrecision(3)}.
- Data: ${dataClause(t)}, as for ${TEACHER}.
- Reproduce: \`npm run distill:embedded -- ${process.argv.slice(2).join(' ')}\` (the four students; the other settings are scripts/distill-embedded.ts's defaults).
- Metrics (\`npm run report:distill${TEACHER === 'emoji-base' ? '' : ` -- --teacher models/${TEACHER} --student-prefix ${PREFIX}`}\`): docs/DISTILLATION.md and docs/BENCHMARKS.md.
- Use: \`npx diffusion-studio generate "a red apple" --model ${PREFIX}${steps} --guidance 3\`.

Full metadata: distill.json.
`;
}

/** ", half of its batches' rows latents the teacher's own sampler visited (...)" when the job used them. */
function visitedClause(v: unknown): string {
  if (!v) return '';
  const { share, trajectories, steps } = v as { share: number; trajectories: number; steps: number };
  return `;\n  ${Math.round(share * 100)}% of its training rows were latents the teacher's own ${steps}-step sampler visited (${trajectories} trajectories; docs/DISTILLATION.md, "On the teacher's path")`;
}

/**
 * How stage 1 trained the narrow student, run by run. A stage-1 job may start from an earlier student
 * (--stage1-init), itself perhaps started from another: each run's distill.json names its start
 * (training.start_weights), so the card follows them back to the teacher's channels or to a round
 * student of an earlier chain, and the card cannot drift from what ran.
 */
function readStage1(): string {
  const runs: string[] = [];
  let dir = join(resolve(a.work!), `guided-${a['from-steps']}`);
  let origin = "the teacher's leading channels";
  for (let depth = 0; depth < 10; depth++) {
    const file = join(dir, 'distill.json');
    if (!existsSync(file)) { origin = `the weights in ${relative(process.cwd(), dir)}`; break; }
    const d = JSON.parse(readFileSync(file, 'utf8')) as { phase: string; steps: number; visited?: { share: number }; training: Record<string, unknown> };
    const t = d.training;
    if (d.phase !== 'stage1') { origin = `a round student for ${d.steps} steps from an earlier chain (${relative(process.cwd(), dir)})`; break; }
    const rows = t.data_rows as { digits?: number } | undefined;
    const extras = [d.visited ? `${Math.round(d.visited.share * 100)}% of rows visited latents` : '', rows ? (rows.digits ? 'with digits' : 'no digits') : ''].filter(Boolean);
    runs.unshift(`${Number(t.iterations).toLocaleString('en')} iterations at batch ${String(t.batch_size)}, lr ${String(t.learning_rate)}${extras.length ? ` (${extras.join(', ')})` : ''}`);
    if (typeof t.start_weights !== 'string') break;
    dir = resolve(dir, t.start_weights);
  }
  return `from ${origin}, then ${runs.join(', then ')}; EMA exported (docs/DISTILLATION.md, "Try it")`;
}

/** What the round trained on, from its distill.json: the emoji sets, and the digits where it counted them. */
function dataClause(t: Record<string, unknown>): string {
  if (t.data !== 'styles') return 'the Noto emoji of emoji-datasource-google (images Apache-2.0, data MIT)';
  const digits = (t.data_rows as { digits?: number } | undefined)?.digits;
  const withDigits = digits ? `, and ${digits.toLocaleString('en')} MNIST training-split digits as "a handwritten number N" (one row in eight, as the teacher trained; never the held-out split eval reads)` : '';
  return `the seven emoji sets of the teacher's training (licences in the teacher's README and NOTICE), plain and styled captions${withDigits}`;
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
  writeFileSync(join(tmp, 'README.md'), modelCard(shipped, unetConfig, mb));
  rmSync(to, { recursive: true, force: true });
  renameSync(tmp, to);
  console.log(`installed ${to}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
