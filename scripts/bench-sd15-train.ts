/**
 * Training at Stable Diffusion 1.5 size on this machine: peak memory and seconds per step of Imagic's
 * stage 1 (the embedding), stage 2 (LoRA) and one progressive-distillation step (LoRA student, two
 * guided teacher DDIM steps), on a UNet with SD 1.5's architecture and 860 M random weights
 * (nn/sd15-unet.ts), through the same code the pipelines run (imagic/loss-graph.ts + train-stage.ts,
 * distill/student.ts + teacher.ts + batch.ts). One configuration per process, so the process's peak
 * RSS is that configuration's.
 *
 *   npm run bench:sd15-train -- --stage embedding|lora|distill [--rank 4] [--latent 32] [--steps 3]
 *        [--frozen auto|inputs|inputs-fp16|initializers] [--work .cache/sd15-bench] [--providers cuda,cpu]
 *
 * The UNet is exported once per latent size to <work>/latent-<S>/fp32/model.onnx (3.4 GB of external
 * data; a child process, so the export's memory is not counted). Prints one JSON line of figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { Rng } from '../src/sidecar/graph/init';
import { SD15_UNET } from '../src/sidecar/nn/sd15-unet';
import { exportSd15Unet } from '../src/sidecar/nn/sd15/export';
import { buildStageGraph } from '../src/sidecar/pipelines/imagic/loss-graph';
import { trainStage } from '../src/sidecar/pipelines/imagic/train-stage';
import { makeBatch } from '../src/sidecar/pipelines/distill/batch';
import { studentTrainStep } from '../src/sidecar/pipelines/distill/student';
import { openTeacher } from '../src/sidecar/pipelines/distill/teacher';
import { NoiseLevels } from '../src/sidecar/pipelines/distill/targets';
import { defaultSchedulerConfig } from '../src/sidecar/schedulers/config';
import { alphaBarFor } from '../src/sidecar/schedulers/noise-schedule';
import { planMemory, type FrozenPlacement, type TrainStep } from '../src/sidecar/train';
import { Trainer } from '../src/sidecar/train/trainer';

const opts = new Command()
  .option('--stage <stage>', 'embedding | lora | distill', 'lora')
  .option('--rank <r>', 'LoRA rank', '4')
  .option('--latent <s>', 'latent size (64 = 512x512 images)', '32')
  .option('--steps <n>', 'training steps to time (the first is reported apart)', '3')
  .option('--frozen <placement>', 'auto | inputs | inputs-fp16 | initializers', 'auto')
  .option('--work <dir>', 'where the exported UNets live', '.cache/sd15-bench')
  .option('--providers <list>', 'execution providers of the training sessions (e.g. cuda,cpu)', 'cpu')
  .option('--export-only', 'export the UNet for --latent and exit')
  .parse()
  .opts();

const S = Number(opts.latent), steps = Number(opts.steps), rank = Number(opts.rank);
const providers = String(opts.providers).split(',');
const unetDir = join(opts.work, `latent-${S}`);
const unetPath = join(unetDir, 'fp32', 'model.onnx');
// SD 1.5's noise schedule (scheduler_config.json of runwayml/stable-diffusion-v1-5).
const schedule = defaultSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
const gb = (b: number) => Number((b / 1e9).toFixed(2));
const peakGb = () => gb(process.resourceUsage().maxRSS * 1024);
const log = (msg: string) => console.error(`[${(performance.now() / 1000).toFixed(0)} s, rss ${gb(process.memoryUsage().rss)} GB] ${msg}`);

function ensureUnet(): void {
  if (opts.exportOnly) {
    exportSd15Unet({ ...SD15_UNET, sampleSize: S }, unetDir, { precisions: ['fp32'], skipTorchWeights: true, log });
    process.exit(0);
  }
  if (existsSync(unetPath)) return;
  log(`exporting the SD 1.5-size UNet at ${S}x${S} latents to ${unetDir}`);
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--export-only', '--latent', String(S), '--work', opts.work], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('export failed');
}

/** Wall seconds per step, and the process's CPU seconds (the stable figure on a shared machine). */
interface Timing { first: number; rest: number[]; cpu: number[] }
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
// the lower median: with the machine shared, a step's time only ever goes up from other work
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : NaN);

function report(step: TrainStep, t: Timing, extra: Record<string, unknown>): void {
  const plan = planMemory(step, { batch: 1 });
  console.log(JSON.stringify({
    stage: opts.stage, rank: opts.stage === 'embedding' ? undefined : rank, latent: S, frozen: step.placement,
    trained_parameters: step.state[0].init.length, first_step_s: Number(t.first.toFixed(1)),
    step_s: Number(median(t.rest).toFixed(1)), step_min_s: Number(Math.min(...t.rest).toFixed(1)), step_cpu_s: Number(median(t.cpu).toFixed(1)), steps: t.rest.length + 1, peak_rss_gb: peakGb(),
    plan_gb: { total: gb(plan.totalBytes), weights: gb(plan.weightBytes), state: gb(plan.stateBytes), activations: gb(plan.activationBytes) },
    ...extra,
  }));
}

async function imagic(): Promise<void> {
  const rng = new Rng(1);
  const embedding = { dtype: 'float32' as const, dims: [1, 77, 768], data: rng.fillNormal(new Float32Array(77 * 768)) };
  const t0 = performance.now();
  const mode = opts.stage === 'embedding' ? 'embedding' : 'lora';
  const built = buildStageGraph(unetPath, { mode, lr: 1e-3, batch: 1, embedding, loraRank: rank, frozen: opts.frozen as FrozenPlacement | 'auto' });
  const buildS = (performance.now() - t0) / 1000;
  log(`step graph built in ${buildS.toFixed(0)} s (${built.step.graph.nodes.length} nodes, ${built.step.frozen.size} frozen inputs)`);
  const plan = planMemory(built.step, { batch: 1 });
  log(`memory plan: ${gb(plan.totalBytes)} GB (weights ${gb(plan.weightBytes)}, activations ${gb(plan.activationBytes)}, working ${gb(plan.workingBytes)})`);
  const times: number[] = [], cpu: number[] = [];
  let last = performance.now(), lastCpu = cpuSeconds();
  await trainStage({
    step: built.step, embedding: mode === 'lora' ? { data: embedding.data, dims: embedding.dims } : null,
    latent: { data: rng.fillNormal(new Float32Array(4 * S * S)), dims: [1, 4, S, S] },
    alphaBar: alphaBarFor(schedule), prediction: 'epsilon', timestepType: 'int64', timestepShape: 'batch',
    steps, batch: 1, seed: 3, executionProviders: providers, what: `Imagic ${opts.stage === 'embedding' ? 'stage 1' : `stage 2 (LoRA rank ${rank})`} at ${S}x${S} latents`,
  }, {
    onStep: (i, total, loss) => {
      const now = performance.now();
      times.push((now - last) / 1000);
      if (i > 1) cpu.push(cpuSeconds() - lastCpu);
      last = now;
      lastCpu = cpuSeconds();
      log(`step ${i}/${total}: loss ${loss.toFixed(4)}, ${times[times.length - 1].toFixed(1)} s`);
    },
  });
  // times[0] includes the session's creation (trainStage opens it): reported as the first step.
  report(built.step, { first: times[0], rest: times.slice(1), cpu }, { graph_build_s: Number(buildS.toFixed(0)) });
}

async function distill(): Promise<void> {
  const t0 = performance.now();
  const { step, student } = studentTrainStep({ unetPath, addGuidance: false, loraRank: rank }, { lr: 1e-4, clipNorm: 1, weightDecay: 0, iterations: 100 });
  if (opts.frozen !== 'auto') log('--frozen applies to Imagic stages; the distillation student uses its own default (auto)');
  const buildS = (performance.now() - t0) / 1000;
  log(`student step graph built in ${buildS.toFixed(0)} s (${step.frozen.size} frozen inputs)`);
  // As the distillation job does it: the student's step first, then the teacher on its fed weights.
  let t = performance.now();
  const trainer = await Trainer.create(step, { threads: 1, seed: 5, providers, memory: { what: `a distillation step at ${S}x${S} latents`, dims: { batch: 1 } } });
  const trainerOpenS = (performance.now() - t) / 1000;
  t = performance.now();
  const teacher = await openTeacher(unetPath, student.teacher, trainer.frozenFeeds, 1);
  const teacherOpenS = (performance.now() - t) / 1000;
  log(`teacher session opened in ${teacherOpenS.toFixed(0)} s (${teacher.sharesWeights ? 'on the student\'s fed weights' : 'its own copy of the weights'})`);
  const rng = new Rng(2);
  const data = {
    latentShape: [4, S, S], contextShape: [77, 768], uncond: rng.fillNormal(new Float32Array(77 * 768)), prompts: ['a', 'b'],
    embeddings: rng.fillNormal(new Float32Array(2 * 77 * 768)), latents: rng.fillNormal(new Float32Array(2 * 4 * S * S)), captions: [[0], [1]],
  };
  const ctx = {
    phase: { kind: 'round' as const, steps: 4, teacherSteps: 8, iterations: steps, name: 'progressive-4' },
    data, teacher, levels: new NoiseLevels(schedule), kind: 'epsilon' as const, batchSize: 1, scaleRange: [7.5, 7.5] as [number, number], studentGuided: false, trajectory: 'grid' as const,
  };
  const teacherS: number[] = [], studentS: number[] = [], cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    t = performance.now();
    const c0 = cpuSeconds();
    const feeds = await makeBatch(ctx, new Rng(100 + i));
    teacherS.push((performance.now() - t) / 1000);
    t = performance.now();
    const r = await trainer.trainStep(feeds);
    studentS.push((performance.now() - t) / 1000);
    if (i > 0) cpu.push(cpuSeconds() - c0);
    log(`step ${i + 1}: loss ${r.loss.toFixed(4)}, teacher ${teacherS[i].toFixed(1)} s, student ${studentS[i].toFixed(1)} s`);
  }
  const total = teacherS.map((x, i) => x + studentS[i]);
  report(step, { first: total[0], rest: total.slice(1), cpu }, {
    teacher_s: Number(median(teacherS.slice(1)).toFixed(1)), student_s: Number(median(studentS.slice(1)).toFixed(1)),
    teacher_open_s: Number(teacherOpenS.toFixed(0)), student_open_s: Number(trainerOpenS.toFixed(0)), graph_build_s: Number(buildS.toFixed(0)),
  });
  await trainer.dispose();
  await teacher.release();
}

ensureUnet();
(opts.stage === 'distill' ? distill() : imagic()).catch((e) => {
  console.error(e);
  process.exit(1);
});
