/**
 * `diffusion-studio generate "<prompt>"`: text-to-image (or image-to-image with --init-image) with the
 * same pipeline the extension uses. Prints the files written (or, with --json, the files and their
 * parameters); a progress bar goes to stderr when it is a terminal.
 */
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { GENERATION_DEFAULTS as DEFAULTS, SAMPLER_IDS } from '../../../protocol/samplers';
import { textToImage, type TextToImageRequest } from '../../pipelines/text-to-image';
import { chooseProvider, type DeviceRequest } from '../../runtime/providers';
import { asUserError, UserError } from '../errors';
import { collect, int, num } from '../options';

interface GenerateOptions {
  negative?: string;
  steps?: string;
  guidance?: string;
  scheduler?: string;
  seed?: string;
  count?: string;
  model: string;
  out: string;
  width?: string;
  height?: string;
  initImage?: string;
  strength?: string;
  modelsDir: string[];
  device: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate images from a text prompt (PNG files with the parameters embedded)')
    .argument('<prompt>', 'what the image should show')
    .option('--negative <text>', 'negative prompt: what the image should not show')
    .option('--steps <n>', `denoising steps (default: the model's, else ${DEFAULTS.steps})`)
    .option('--guidance <scale>', `classifier-free guidance scale (default: the model's, else ${DEFAULTS.guidanceScale}; 1 = off)`)
    .option('--scheduler <name>', `${SAMPLER_IDS.join(', ')}, or the A1111 name, e.g. "Euler a" (default: the model's, else ${DEFAULTS.scheduler})`)
    .option('--seed <n>', 'seed of the first image, 0..4294967295 (image k uses seed + k; default random)')
    .option('--count <n>', 'number of images', String(DEFAULTS.count))
    .option('--model <name|dir>', 'model name (see `models`) or model folder', DEFAULTS.model)
    .option('--out <file|dir>', 'output folder, or a file name ending in .png', 'outputs')
    .option('--width <px>', 'image width (default: the model\'s native size)')
    .option('--height <px>', 'image height (default: the model\'s native size)')
    .option('--init-image <file>', 'image-to-image: start from this picture')
    .option('--strength <s>', 'image-to-image: how much to repaint, 0 < s <= 1', String(DEFAULTS.strength))
    .option('--models-dir <dir>', 'another folder of models (repeatable; also $DIFFUSION_STUDIO_MODELS)', collect, [])
    .option('--device <d>', 'auto, cpu or cuda', 'auto')
    .option('--json', 'print the result as JSON')
    .action((prompt: string, opts: GenerateOptions) => generate(prompt, opts));
}

async function generate(prompt: string, opts: GenerateOptions): Promise<void> {
  const device = opts.device as DeviceRequest;
  if (!['auto', 'cpu', 'cuda'].includes(device)) throw new UserError(`--device must be auto, cpu or cuda, got "${opts.device}"`);
  const request: TextToImageRequest = {
    model: opts.model,
    prompt,
    negativePrompt: opts.negative,
    steps: int('--steps', opts.steps),
    guidanceScale: num('--guidance', opts.guidance),
    scheduler: opts.scheduler,
    seed: int('--seed', opts.seed),
    count: int('--count', opts.count),
    width: int('--width', opts.width),
    height: int('--height', opts.height),
    out: opts.out,
    initImage: opts.initImage,
    strength: opts.initImage ? num('--strength', opts.strength) : undefined,
    modelRoots: opts.modelsDir,
  };
  const provider = await chooseProvider(device);
  const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: 'generating [{bar}] {value}/{total} steps, image {image}' }) : null;
  try {
    const result = await textToImage(request, {
      executionProviders: provider.executionProviders,
      onProgress: (p) => {
        if (!bar) return;
        if (p.step === 1) bar.start(p.totalSteps, 0, { image: `${p.image + 1}/${p.count}` });
        bar.update(p.step, { image: `${p.image + 1}/${p.count}` });
        if (p.step === p.totalSteps) bar.stop();
      },
    });
    if (opts.json) console.log(JSON.stringify({ files: result.files, metadata: result.metadata, timings: result.timings }, null, 2));
    else {
      for (const f of result.files) console.log(f);
      const m = result.metadata[0];
      const seeds = result.files.length > 1 ? `seeds ${m.seed}-${m.seed + result.files.length - 1}` : `seed ${m.seed}`;
      console.error(`${m.model}: ${seeds}, ${m.steps} steps of ${m.sampler}, guidance ${m.cfgScale}, ${m.width}x${m.height}, ${(result.timings.totalMs / 1000).toFixed(2)} s`);
    }
  } catch (err) {
    bar?.stop();
    throw asUserError(err);
  }
}
