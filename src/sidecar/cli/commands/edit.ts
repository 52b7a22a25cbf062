/**
 * `diffusion-studio edit <image> "<prompt>" [--eta 0.7 | --sweep]`: Imagic (pipelines/imagic). Trains
 * the two stages (or takes them from the cache), then writes one PNG per eta, and with --sweep a
 * contact sheet. Prints the files written; progress per stage goes to stderr when it is a terminal.
 */
import type { Command } from 'commander';
import { GENERATION_DEFAULTS as DEFAULTS, SAMPLER_IDS } from '../../../protocol/samplers';
import { runImagic, SWEEP_ETAS, DEFAULT_ETA, type ImagicRequest, type ImagicProgress } from '../../pipelines/imagic/imagic';
import { chooseProvider, type DeviceRequest } from '../../runtime/providers';
import { asUserError, UserError } from '../errors';
import { collect, int, num } from '../options';

interface EditOptions {
  eta?: string;
  sweep?: boolean;
  seed?: string;
  out: string;
  model: string;
  modelsDir: string[];
  steps?: string;
  guidance?: string;
  scheduler?: string;
  embeddingSteps?: string;
  embeddingLr?: string;
  finetuneSteps?: string;
  finetuneLr?: string;
  tune: string;
  loraRank?: string;
  cacheDir?: string;
  cache: boolean;
  device: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('edit')
    .description('edit a picture towards a text with Imagic (PNG files with the parameters embedded; the input is never changed)')
    .argument('<image>', 'the picture to edit (PNG, JPEG, WebP ...; any size)')
    .argument('<prompt>', 'what the edited picture should show')
    .option('--eta <values>', `how far to move towards the text: one value or a comma list, 0..2 (default ${DEFAULT_ETA})`)
    .option('--sweep', `one image per eta in ${SWEEP_ETAS.join(', ')}, plus a contact sheet`)
    .option('--seed <n>', 'sampling seed (changing it re-samples without re-training; default random)')
    .option('--out <dir>', 'output folder (or a file name ending in .png for a single eta)', 'outputs')
    .option('--model <name|dir>', 'model name (see `models`) or model folder', DEFAULTS.model)
    .option('--models-dir <dir>', 'another folder of models (repeatable)', collect, [])
    .option('--steps <n>', 'sampling steps (default: the model\'s)')
    .option('--guidance <scale>', 'classifier-free guidance scale (default: 2 on small models, else the model\'s)')
    .option('--scheduler <name>', `${SAMPLER_IDS.join(', ')}, or the A1111 name, e.g. "Euler a" (default: the model's)`)
    .option('--embedding-steps <n>', 'stage 1 steps (default: scaled to the model)')
    .option('--embedding-lr <lr>', 'stage 1 learning rate')
    .option('--finetune-steps <n>', 'stage 2 steps (default: scaled to the model)')
    .option('--finetune-lr <lr>', 'stage 2 learning rate')
    .option('--tune <mode>', 'stage 2: auto (by model size), full or lora', 'auto')
    .option('--lora-rank <r>', 'LoRA rank when fine-tuning with adapters', '4')
    .option('--cache-dir <dir>', 'where trained stages are kept (default ~/.cache/diffusion-studio/imagic)')
    .option('--no-cache', 'train from scratch and keep nothing')
    .option('--device <d>', 'auto, cpu or cuda', 'auto')
    .option('--json', 'print the result as JSON')
    .action((image: string, prompt: string, opts: EditOptions) => edit(image, prompt, opts));
}

export function parseEtas(eta: string | undefined, sweep: boolean | undefined): number[] {
  if (sweep && eta !== undefined) throw new UserError('give either --eta or --sweep, not both');
  if (sweep) return SWEEP_ETAS;
  if (eta === undefined) return [DEFAULT_ETA];
  return eta.split(',').map((v) => num('--eta', v)!);
}

export function editRequest(image: string, prompt: string, opts: EditOptions): ImagicRequest {
  if (!['auto', 'full', 'lora'].includes(opts.tune)) throw new UserError(`--tune must be auto, full or lora, got "${opts.tune}"`);
  return {
    image, prompt, model: opts.model, modelRoots: opts.modelsDir,
    etas: parseEtas(opts.eta, opts.sweep),
    seed: int('--seed', opts.seed), out: opts.out,
    steps: int('--steps', opts.steps), guidanceScale: num('--guidance', opts.guidance), scheduler: opts.scheduler,
    embeddingSteps: int('--embedding-steps', opts.embeddingSteps), embeddingLearningRate: num('--embedding-lr', opts.embeddingLr),
    finetuneSteps: int('--finetune-steps', opts.finetuneSteps), finetuneLearningRate: num('--finetune-lr', opts.finetuneLr),
    tune: opts.tune as ImagicRequest['tune'], loraRank: int('--lora-rank', opts.loraRank),
    cacheDir: opts.cacheDir, cache: opts.cache, contactSheet: opts.sweep ? true : undefined,
  };
}

async function edit(image: string, prompt: string, opts: EditOptions): Promise<void> {
  const device = opts.device as DeviceRequest;
  if (!['auto', 'cpu', 'cuda'].includes(device)) throw new UserError(`--device must be auto, cpu or cuda, got "${opts.device}"`);
  const request = editRequest(image, prompt, opts);
  const provider = await chooseProvider(device);
  const tty = !opts.json && process.stderr.isTTY;
  try {
    const r = await runImagic(request, {
      executionProviders: provider.executionProviders,
      onProgress: tty ? stageLine : undefined,
      onWarning: (message) => process.stderr.write(`${tty ? '\n' : ''}diffusion-studio: warning: ${message}\n`),
    });
    if (tty) process.stderr.write('\n');
    if (opts.json) {
      console.log(JSON.stringify({ files: r.files, contactSheet: r.contactSheet, etas: r.etas, metadata: r.metadata, timings: r.timings, cached: { embedding: r.train.embeddingCached, finetune: r.train.finetuneCached } }, null, 2));
    } else {
      for (const f of r.files) console.log(f);
      if (r.contactSheet) console.log(r.contactSheet);
    }
  } catch (err) {
    throw asUserError(err);
  }
}

/** One rewritten status line per stage: "stage 1/3 embedding 120/150 loss 0.0421". */
function stageLine(p: ImagicProgress): void {
  const n = { prepare: 0, embedding: 1, finetune: 2, sample: 3, save: 3 }[p.stage];
  const loss = p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : '';
  const what = p.cached ? ' (from the cache)' : ` ${p.step}/${p.total}${loss}`;
  process.stderr.write(`\r\x1b[Kstage ${n}/3 ${p.stage}${what}`);
  if (p.step === p.total && p.stage !== 'prepare') process.stderr.write('\n');
}
