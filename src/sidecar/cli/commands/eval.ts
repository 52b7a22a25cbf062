/**
 * `diffusion-studio eval --model <dir>`: FID-analogue, CLIP-score analogue and object accuracy of a
 * model folder of the embedded family (pipelines/eval/evaluate.ts). Seeded: two runs print the same
 * numbers. Needs the training data package (emoji-datasource-google) for the real images and captions.
 */
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { ModelFolderError } from '../../io/errors';
import { GENERATION_DEFAULTS as DEFAULTS, parseSampler, SAMPLER_IDS } from '../../../protocol/samplers';
import { evaluate, type EvalReport } from '../../pipelines/eval/evaluate';
import { UserError } from '../errors';

interface EvalCliOptions {
  model: string;
  steps?: string;
  guidance?: string;
  scheduler?: string;
  seed: string;
  count: string;
  batch: string;
  json?: boolean;
  samples?: boolean;
  variety: boolean;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('measure a model of the embedded family: FID-analogue, CLIP-score analogue, object accuracy')
    .option('--model <name|dir>', 'model name or folder', DEFAULTS.model)
    .option('--steps <n>', 'denoising steps (default: the model\'s)')
    .option('--guidance <scale>', 'classifier-free guidance scale (default: the model\'s)')
    .option('--scheduler <name>', `${SAMPLER_IDS.join(', ')}, or the A1111 name, e.g. "Euler a" (default: the model's)`)
    .option('--seed <n>', 'seed of the first image (image k uses seed + k)', '0')
    .option('--count <n>', 'generated images, one per prompt (at least 1000 for the FID)', '1024')
    .option('--batch <n>', 'images per UNet batch', '64')
    .option('--samples', 'include every prompt and its nearest caption in the JSON')
    .option('--no-variety', '64x64 family: skip the digit, styles-per-seed, style-word and object-evaluator measures')
    .option('--json', 'print the report as JSON')
    .action((opts: EvalCliOptions) => run(opts));
}

function whole(flag: string, v: string, min: number): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new UserError(`${flag} must be a whole number >= ${min}, got "${v}"`);
  return Number(v);
}

function number(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new UserError(`${flag} must be a number >= 0, got "${v}"`);
  return x;
}

function schedulerOption(name: string) {
  try {
    return parseSampler(name);
  } catch (err) {
    throw new UserError(`--scheduler: ${(err as Error).message}`);
  }
}

async function run(opts: EvalCliOptions): Promise<void> {
  const scheduler = opts.scheduler === undefined ? undefined : schedulerOption(opts.scheduler);
  const count = whole('--count', opts.count, 2);
  const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: 'eval |{bar}| {value}/{total} images' }) : null;
  bar?.start(count, 0);
  let report: EvalReport;
  try {
    report = await evaluate({
      model: opts.model,
      steps: opts.steps === undefined ? undefined : whole('--steps', opts.steps, 1),
      guidance: opts.guidance === undefined ? undefined : number('--guidance', opts.guidance),
      scheduler,
      seed: whole('--seed', opts.seed, 0),
      count,
      batch: whole('--batch', opts.batch, 1),
      onProgress: (done) => bar?.update(done),
      variety: opts.variety,
    });
  } catch (err) {
    if (err instanceof ModelFolderError) throw new UserError(err.message);
    if (err instanceof Error && /Cannot find module 'emoji-datasource-google/.test(err.message)) {
      throw new UserError('eval needs the training data package: npm install emoji-datasource-google');
    }
    throw err;
  } finally {
    bar?.stop();
  }
  if (!opts.samples) report = { ...report, samples: [] };
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`model            ${report.model}`);
  console.log(`images           ${report.images} (${report.steps} ${report.scheduler} steps, guidance ${report.guidance}, seed ${report.seed})`);
  console.log(`FID-analogue     ${report.fid.toFixed(3)}`);
  console.log(`CLIP-score       ${report.clipScore.toFixed(4)} (real images: ${report.real.clipScore.toFixed(4)})`);
  console.log(`object accuracy  ${(100 * report.objectAccuracy).toFixed(1)}% (real images: ${(100 * report.real.objectAccuracy).toFixed(1)}%)`);
  const v = report.variety;
  if (v) {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(`digits           ${pct(v.digits.accuracy)} of ${v.digits.samples} "a handwritten number N" read as N (evaluator on held-out MNIST: ${pct(v.digits.evaluatorHeldOut)})`);
    console.log(`styles / 8 seeds ${v.variety.meanStyles.toFixed(2)} over ${v.variety.prompts} prompts without a style`);
    console.log(`seed distance    ${v.variety.meanPairDistance.toFixed(1)}/255 (${v.variety.distanceRatio.toFixed(2)}x two real drawings of one emoji: ${v.variety.realPairDistance.toFixed(1)}/255)`);
    console.log(`style words      ${pct(v.styleWords.accuracy)} of ${v.styleWords.samples} samples in the asked style (evaluator on the real drawings: ${pct(v.styleWords.evaluatorOnReal)})`);
    if (v.objects) console.log(`objects          ${pct(v.objects.accuracy)} of ${v.objects.samples} samples read as the prompted emoji (evaluator on real drawings: ${pct(v.objects.evaluatorOnLearned)} of ones it learned, ${pct(v.objects.evaluatorOnUnseen)} of unseen ones)`);
  }
  console.log(`time             ${report.seconds.toFixed(1)} s`);
}
