/**
 * Bit-identity check for refactors of the sampling code: generates images through every caller of the
 * denoising loop (the CLI's generate with several schedulers, a guided student, image-to-image,
 * previews, eval sampling, Imagic's eta sweep, the distillation teacher's data and targets) and prints
 * the sha256 of each result's pixels as JSON. Run it before and after a change and diff the two:
 *
 *   npx tsx scripts/check-bit-identity.ts > before.json   # on the old code
 *   npx tsx scripts/check-bit-identity.ts > after.json && diff before.json after.json
 *
 * In-process calls name only schedulers whose id is the same in the CLI's and the protocol's
 * vocabularies (ddim, ddpm, euler); the CLI accepts either spelling.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { rngFor } from '../src/sidecar/graph/init';
import { resolveModel, modelRoots } from '../src/sidecar/io/model-discovery';
import { makeBatch } from '../src/sidecar/pipelines/distill/batch';
import { teacherData } from '../src/sidecar/pipelines/distill/data';
import type { Phase } from '../src/sidecar/pipelines/distill/plan';
import type { PredictionType } from '../src/sidecar/schedulers/config';
import { NoiseLevels } from '../src/sidecar/pipelines/distill/targets';
import { Teacher } from '../src/sidecar/pipelines/distill/teacher';
import { sampleImages } from '../src/sidecar/pipelines/eval/sample';
import { runImagic } from '../src/sidecar/pipelines/imagic/imagic';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { textToImage } from '../src/sidecar/pipelines/text-to-image';

const root = join(__dirname, '..');
const tinySd = join(root, 'test', 'fixtures', 'tiny-sd');
const tmp = mkdtempSync(join(tmpdir(), 'bit-identity-'));
const hashes: Record<string, string> = {};
const sha = (data: ArrayBufferView) => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex').slice(0, 16);
const pixels = async (file: string) => sha(await sharp(file).raw().toBuffer());

/** `generate` through the command line, as a user runs it; hashes the decoded pixels of every PNG. */
async function cli(name: string, args: string[]): Promise<void> {
  const out = join(tmp, name);
  const r = spawnSync('npx', ['tsx', 'src/sidecar/cli/main.ts', 'generate', ...args, '--out', out, '--device', 'cpu', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  const files = (JSON.parse(r.stdout) as { files: string[] }).files;
  for (const [k, f] of files.entries()) hashes[`cli ${name} #${k}`] = await pixels(f);
}

async function generation(): Promise<void> {
  const heart = ['a red heart', '--seed', '7', '--steps', '6', '--count', '2'];
  await cli('dpm++2m', [...heart, '--scheduler', 'dpm++2m']);
  await cli('euler-a', [...heart, '--scheduler', 'euler-a']);
  await cli('ddim', [...heart, '--scheduler', 'ddim', '--guidance', '3']);
  await cli('ddpm', [...heart, '--scheduler', 'ddpm', '--guidance', '1']);
  await cli('guided-4', ['a smiling cat face', '--model', 'emoji-guided-4', '--seed', '3', '--count', '2']);
  await cli('img2img', ['a dog', '--model', tinySd, '--init-image', join(root, 'test', 'fixtures', 'images', 'photo.webp'), '--strength', '0.6', '--scheduler', 'euler-a', '--seed', '5', '--count', '2', '--negative', 'blue']);
  await cli('tiny-fp16', ['a red cat', '--model', join(root, 'test', 'fixtures', 'tiny-sd-fp16'), '--steps', '4', '--seed', '1', '--scheduler', 'dpm++2m-karras']);
  // Batched vs single (in process, to set batchSize) and the previews (x0 estimates) along the way.
  const previews: Uint8Array[] = [];
  const r = await textToImage({ model: 'emoji-base', prompt: 'a cat', steps: 4, seed: 11, count: 3, batchSize: 2, previewEvery: 2, scheduler: 'euler', out: join(tmp, 'batch') },
    { onProgress: (p) => p.preview && previews.push(p.preview) });
  for (const [k, f] of r.files.entries()) hashes[`batch euler #${k}`] = await pixels(f);
  for (const [k, p] of previews.entries()) hashes[`preview #${k}`] = await pixels(Buffer.from(p) as unknown as string);
}

async function evalSampling(): Promise<void> {
  const model = await openModel(resolveModel('emoji-base', modelRoots([])), {});
  for (const scheduler of ['ddim', 'ddpm'] as const) {
    const r = await sampleImages(model, ['a cat', 'a dog', 'a red apple'], { steps: 4, guidance: 2, scheduler, seed: 9 });
    hashes[`eval ${scheduler}`] = sha(r.images);
  }
  const guided = await openModel(resolveModel('emoji-guided-4', modelRoots([])), {});
  hashes['eval guided-4'] = sha((await sampleImages(guided, ['a cat', 'a star'], { steps: 4, guidance: 3, scheduler: 'euler', seed: 2 })).images);
}

async function imagic(): Promise<void> {
  const previews: Uint8Array[] = [];
  const r = await runImagic({ model: tinySd, image: join(root, 'test', 'fixtures', 'images', 'photo.webp'), prompt: 'a red cat', etas: [0, 0.5, 1], seed: 5, steps: 4,
    embeddingSteps: 3, finetuneSteps: 3, cache: false, previewEvery: 1, out: join(tmp, 'imagic') }, { onProgress: (p) => p.preview && previews.push(p.preview) });
  for (const [k, f] of r.files.entries()) hashes[`imagic eta #${k}`] = await pixels(f);
  for (const [k, p] of previews.entries()) hashes[`imagic preview #${k}`] = await pixels(Buffer.from(p) as unknown as string);
}

async function distillation(): Promise<void> {
  // The embedded teachers (v-prediction), tiny-sd (epsilon), and emoji-base read as the other two
  // parameterisations: the targets' maths for each kind.
  const cases: [string, string, PredictionType | null][] = [
    ['emoji-base', 'emoji-base', null], ['emoji-guided-4', 'emoji-base', null], [tinySd, tinySd, null],
    ['emoji-base', 'emoji-base', 'epsilon'], ['emoji-base', 'emoji-base', 'sample'],
  ];
  for (const [name, baseName, kindOverride] of cases) {
    const folder = resolveModel(name, modelRoots([]));
    const base = resolveModel(baseName, modelRoots([]));
    const teacher = await Teacher.open(folder.files.unet, 1);
    const levels = new NoiseLevels(folder.schedulerConfig);
    const kind = kindOverride ?? folder.schedulerConfig.prediction_type;
    const label = `distill ${folder.name} as ${kind}`;
    const data = await teacherData(base, teacher, levels, kind, { prompts: ['a cat', 'a dog', 'a heart'], count: 5, latentShape: [4, 8, 8], scale: 3, seed: 1 });
    hashes[`${label} teacher data`] = sha(data.latents);
    // A guidance scale below 1 (a guidance range from 0): the teacher still guides.
    hashes[`${label} teacher data at s 0.5`] = sha((await teacherData(base, teacher, levels, kind, { prompts: ['a star'], count: 2, latentShape: [4, 8, 8], scale: 0.5, seed: 2 })).latents);
    const phases: Phase[] = [
      { kind: 'stage1', steps: 8, teacherSteps: 8, iterations: 1, name: 'stage1' },
      { kind: 'round', steps: 4, teacherSteps: 8, iterations: 1, name: 'round' },
    ];
    for (const phase of phases) {
      const feeds = await makeBatch({ phase, data, teacher, levels, kind, batchSize: 3, scaleRange: [2, 4], studentGuided: false, trajectory: 'grid' }, rngFor(4, 'batch'));
      hashes[`${label} ${phase.name} target`] = sha(feeds.target.data as Float32Array);
      hashes[`${label} ${phase.name} weight`] = sha(feeds.weight.data as Float32Array);
      // The student's own inputs, for a plain and a guided student.
      const guided = await makeBatch({ phase, data, teacher, levels, kind, batchSize: 2, scaleRange: [1, 5], studentGuided: true, trajectory: 'grid' }, rngFor(5, 'batch'));
      for (const f of [feeds, guided]) {
        for (const name of Object.keys(f).sort()) hashes[`${label} ${phase.name} ${f === guided ? 'guided ' : ''}${name} ${f[name].type} [${f[name].dims.join(',')}]`] = sha(f[name].data as ArrayBufferView);
      }
    }
    await teacher.release();
  }
}

async function main(): Promise<void> {
  try {
    await generation();
    await evalSampling();
    await imagic();
    await distillation();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(hashes, null, 1)}\n`);
}

void main();
