/**
 * The Node side of the GPU check (bundled by scripts/gpu/build-bundle.mjs into dist/gpu/unet-tool.js,
 * run through `npx tsx` here). Each command prints one JSON line on stdout; logs go to stderr.
 *   env                                      ORT version, backends, the sidecar's provider choice for 'cuda'
 *   export --config small|sd15 --dir D [--model vae] [--attention matmul|mha] [--precisions fp32,fp16] [--also-mha] [--no-torch-weights]
 *   bench  --dir D --precision fp32|fp16 [--model D/fp16/model.onnx] --ep cpu|cuda [--iters 20 --warmup 3]
 *          [--ref D/torch_out.safetensors] [--label text]
 *   train  --ep cpu|cuda [--iters 5 --warmup 2]    training steps of the engine (small UNet, MSE, AdamW, Trainer)
 *   generate --model models/emoji-base --ep cpu|cuda --out D [--iters steps]   the embedded model, 2 images
 *   table  --results OUT/results.jsonl              the device check's summary table
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { SD15_UNET, small, type Sd15UnetConfig } from '../../src/sidecar/nn/sd15-unet';
import { exportSd15Unet, exportSd15VaeDecoder, type Precision } from '../../src/sidecar/nn/sd15/export';
import { SD15_VAE, smallVae } from '../../src/sidecar/nn/sd15/vae-decoder';
import { chooseProvider } from '../../src/sidecar/runtime/providers';
import { compare, loadInputs, openSession, readOutput, timeRuns, writeOutput, type Provider } from './ort-unet';
import { timeTrainStep } from './train-step';
import { renderTable } from './table';
import { textToImage } from '../../src/sidecar/pipelines/text-to-image';

const log = (msg: string) => process.stderr.write(`[unet-tool] ${msg}\n`);
const emit = (o: object): void => { process.stdout.write(JSON.stringify(o) + "\n"); };

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values: a } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', default: 'small' }, dir: { type: 'string' }, attention: { type: 'string', default: 'matmul' },
      precisions: { type: 'string', default: 'fp32,fp16' }, 'no-torch-weights': { type: 'boolean', default: false },
      'also-mha': { type: 'boolean', default: false }, model: { type: 'string' },
      precision: { type: 'string', default: 'fp32' }, ep: { type: 'string', default: 'cpu' },
      iters: { type: 'string', default: '20' }, warmup: { type: 'string', default: '3' }, ref: { type: 'string' },
      label: { type: 'string' }, results: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string', default: '0' }, threads: { type: 'string', default: '1' },
    },
  });
  const dir = () => a.dir ?? fail('--dir is required');
  switch (command) {
    case 'env': return env();
    case 'export': {
      if (a.model === 'vae') {
        const vcfg = a.config === 'sd15' ? SD15_VAE : a.config === 'small' ? smallVae() : fail(`--config must be small or sd15, not ${a.config}`);
        const r = exportSd15VaeDecoder(vcfg, dir(), { seed: Number(a.seed), precisions: a.precisions!.split(',').map((p) => precisionNamed(p)) });
        return emit({ command, config: a.config, model: 'vae_decoder', parameters: r.parameters, models: r.models, seconds: r.seconds });
      }
      const cfg: Sd15UnetConfig = { ...configNamed(a.config!), attention: attentionNamed(a.attention!) };
      const precisions = a.precisions!.split(',').map((p) => precisionNamed(p));
      const r = exportSd15Unet(cfg, dir(), { seed: Number(a.seed), precisions, skipTorchWeights: a['no-torch-weights'], fusedAttentionVariant: a['also-mha'], log });
      return emit({ command, config: a.config, attention: cfg.attention, parameters: r.parameters, models: r.models, seconds: r.seconds });
    }
    case 'bench': {
      const precision = precisionNamed(a.precision!);
      const model = a.model ?? join(dir(), precision, 'model.onnx');
      const ep = a.ep === 'cuda' ? 'cuda' : a.ep === 'cpu' ? 'cpu' : fail(`--ep must be cpu or cuda, not ${a.ep}`);
      const t0 = performance.now();
      const session = await openSession(model, ep as Provider, Number(a.threads));
      const loadS = (performance.now() - t0) / 1000;
      const { timing, out, dims } = await timeRuns(session, loadInputs(dir(), precision), Number(a.iters), Number(a.warmup));
      writeOutput(join(dir(), `ort_${precision}_${a.label ?? 'run'}_${ep}.safetensors`), out, dims);
      const diff = a.ref ? compare(out, readOutput(a.ref)) : undefined;
      await session.release();
      return emit({ command, engine: 'onnxruntime-node', ort: ort.env.versions?.node, label: a.label, model, ep, precision, session_s: loadS, ...timing, diff });
    }
    case 'train': {
      const ep = a.ep === 'cuda' ? 'cuda' : 'cpu';
      const r = await timeTrainStep(ep, Number(a.iters ?? 5), Number(a.warmup ?? 2), log);
      return emit({ command, ep, ...r });
    }
    case 'generate': {
      // The embedded model through the product's own pipeline (guidance, scheduler, VAE, PNG).
      const ep = a.ep === 'cuda' ? 'cuda' : 'cpu';
      const steps = Number(a.iters);
      const r = await textToImage(
        { model: a.model ?? fail('--model is required'), prompt: 'a smiling cat face', steps, seed: 1, count: 2, guidanceScale: 5, out: a.out ?? fail('--out is required') },
        { executionProviders: ep === 'cuda' ? ['cuda', 'cpu'] : ['cpu'] },
      );
      return emit({ command, ep, model: a.model, label: a.label, steps, images: r.files.length, seconds: r.timings.totalMs / 1000, ort_seconds: r.timings.ortMs / 1000, files: r.files });
    }
    case 'table':
      process.stdout.write(renderTable(a.results ?? fail('--results is required')) + '\n');
      return;
    default:
      fail(`unknown command "${command}" (env, export, bench, train, generate, table)`);
  }
}

async function env(): Promise<void> {
  const backends = (ort as unknown as { listSupportedBackends?: () => unknown }).listSupportedBackends?.();
  const choice = await chooseProvider('cuda');
  emit({ command: 'env', node: process.version, ort: ort.env.versions, backends, provider: choice });
}

function configNamed(name: string): Sd15UnetConfig {
  if (name === 'sd15') return SD15_UNET;
  if (name === 'small') return small();
  return fail(`--config must be small or sd15, not ${name}`);
}
function attentionNamed(name: string): Sd15UnetConfig['attention'] {
  return name === 'matmul' || name === 'mha' ? name : fail(`--attention must be matmul or mha, not ${name}`);
}
function precisionNamed(name: string): Precision {
  return name === 'fp32' || name === 'fp16' ? name : fail(`precision must be fp32 or fp16, not ${name}`);
}
function fail(msg: string): never {
  throw new Error(msg);
}

main(process.argv.slice(2)).catch((e: Error) => {
  log(`error: ${e.message}`);
  process.exit(1);
});
