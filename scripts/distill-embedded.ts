/**
 * Distils the embedded teacher (models/emoji-base) into the shipped guided students
 * models/emoji-guided-{8,4,2,1}: guided distillation, stage 1 at 16 steps, then rounds 16 -> 8 -> 4
 * -> 2 -> 1 (docs/DISTILLATION.md). Resumable: run it again after a stop and it continues.
 *
 *   npx tsx scripts/distill-embedded.ts [--teacher models/emoji-base] [--work .cache/distill-emoji]
 *       [--iterations 600] [--stage1-iterations 800] [--batch 16] [--lr 2e-4] [--install [--half-weights]]
 *
 * --install copies the finished students into models/ (UNet ONNX, config, scheduler, distill.json,
 * model_index.json with "base": "../emoji-base"; the training safetensors stay in the work folder to
 * keep the extension small; --half-weights also stores the UNet's weights as float16, half-weights.ts).
 * An existing models/emoji-guided-N is replaced only by --install.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, saveModel } from '../src/sidecar/graph';
import { runDistillation } from '../src/sidecar/pipelines/distill/job';
import { storeWeightsAsHalf } from '../src/sidecar/pipelines/distill/half-weights';

const { values: a } = parseArgs({
  options: {
    teacher: { type: 'string', default: 'models/emoji-base' },
    work: { type: 'string', default: '.cache/distill-emoji' },
    iterations: { type: 'string', default: '600' },
    'stage1-iterations': { type: 'string', default: '800' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '2e-4' },
    'stage1-lr': { type: 'string' },
    'guidance-range': { type: 'string', default: '1,5' },
    'student-channels': { type: 'string', default: '0' },
    install: { type: 'boolean', default: false },
    'half-weights': { type: 'boolean', default: false },
    models: { type: 'string', default: 'models' },
  },
});

async function main(): Promise<void> {
  const work = resolve(a.work!);
  const range = a['guidance-range']!.split(',').map(Number) as [number, number];
  const t0 = Date.now();
  let last = 0;
  const r = await runDistillation({
    mode: 'guided', teacher: resolve(a.teacher!), out: work, fromSteps: 16, toSteps: 1,
    iterations: Number(a.iterations), stage1Iterations: Number(a['stage1-iterations']),
    batchSize: Number(a.batch), learningRate: Number(a.lr), stage1LearningRate: Number(a['stage1-lr'] ?? a.lr), guidanceRange: range,
    studentChannels: Number(a['student-channels']), data: 'emoji', resume: existsSync(join(work, 'distill-state.json')),
  }, {
    onLog: (m) => console.log(`[${new Date().toISOString()}] ${m}`),
    onProgress: (p) => {
      if (Date.now() - last < 15000 && p.step !== p.totalSteps) return;
      last = Date.now();
      console.log(`[${new Date().toISOString()}] ${p.phase} ${p.round}/${p.rounds} (${p.studentSteps} steps) step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(5)} ${p.stepsPerSec.toFixed(2)} it/s ETA ${(p.etaSec / 60).toFixed(1)} min`);
    },
  });
  console.log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min; final losses ${r.finalLoss.map((x) => x.toFixed(5)).join(', ')}`);
  if (!a.install) return;
  for (const s of r.students.filter((x) => x.kind === 'round')) install(s.dir, join(resolve(a.models!), `emoji-guided-${s.steps}`));
}

/** A shipped student: the round's folder without the training weights, based on ../emoji-base. */
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
  writeFileSync(join(tmp, 'model_index.json'), `${JSON.stringify({ ...index, base: '../emoji-base' }, null, 2)}\n`);
  const distill = JSON.parse(readFileSync(join(from, 'distill.json'), 'utf8')) as Record<string, unknown>;
  const teacher = distill.teacher as Record<string, unknown>;
  const storage = a['half-weights'] ? 'float16 weights, float32 compute' : 'float32';
  writeFileSync(join(tmp, 'distill.json'), `${JSON.stringify({ ...distill, teacher: { ...teacher, name: 'emoji-base', dir: '../emoji-base' }, base: 'emoji-base', weights_storage: storage }, null, 2)}\n`);
  rmSync(to, { recursive: true, force: true });
  renameSync(tmp, to);
  console.log(`installed ${to}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
