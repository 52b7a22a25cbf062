/**
 * `npm run train:emoji-base`: trains the first embedded model family (models/emoji-base, 32x32 Noto emoji) from scratch on the
 * project's own engine, stage by stage: VAE -> CLIP (text + image encoders) -> UNet -> export -> samples.
 * Resumable: every stage checkpoints (atomic safetensors) into the run folder and a finished stage is
 * skipped, so rerunning the command continues where it stopped. Options:
 *   --out <dir>     model folder to write (default models/emoji-base)
 *   --run <dir>     checkpoints, losses, logs (default .cache/train-embedded)
 *   --scale <x>     multiply every stage's step count (e.g. 0.01 for a smoke test)
 *   --unet-steps <n> train the UNet to n steps in all: continues a finished run from its checkpoint
 *   --only-image-tune  run just the image-tower stage (see PLAN.image) and exit
 *   --export-checkpoint  write the folder now from the UNet's latest checkpoint (EMA weights) while
 *                   another invocation is still training it (VAE and CLIP must be finished)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readSafetensors } from '../src/sidecar/io/safetensors';
import type { TrainStep } from '../src/sidecar/train/train-step';
import type { TensorValue } from '../src/sidecar/graph/types';
import type { Rng } from '../src/sidecar/graph';
import { EMOJI_BASE, type FamilyConfig } from '../src/sidecar/nn';
import { writeFamilyFolder, componentGraph, COMPONENTS, type FamilyWeights } from '../src/sidecar/nn/family';
import { parameterCount, applyWeights } from '../src/sidecar/nn/weights';
import { vaeStep, clipStep, unetStep, stripPrefix, alphasCumprod, normalTensor, vRow, stdOf, type StageSpec } from './train/stages';
import { prepare, encodeLatents, reconstruct, encodeCaptions, type Prepared } from './train/prepare';
import { writeLossCurves } from './train/curves';
import { modelCard } from './train/card';
import { writeSamples, writeRealGrid } from './train/samples';
import { log, emaFromCheckpoint, runStage as runStageIn, readRecords as readRecordsIn, type BatchFn, type StageRecord } from './train/run-stage';

const arg = (name: string, def: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const OUT = arg('--out', 'models/emoji-base');
const RUN = arg('--run', '.cache/train-embedded');
const SCALE = Number(arg('--scale', '1'));
const EXPORT_CHECKPOINT = process.argv.includes('--export-checkpoint');
const ONLY_IMAGE_TUNE = process.argv.includes('--only-image-tune');

/** Steps, batch, peak learning rate per stage, sized for about an hour on two shared cores. */
const PLAN: Record<'vae' | 'clip' | 'image' | 'unet', StageSpec> = {
  vae: { steps: 600, batch: 64, lr: 2e-3 },
  clip: { steps: 800, batch: 128, lr: 1e-3 },
  /** The image tower alone against the frozen text tower: a sharper measuring instrument for eval. */
  image: { steps: 1500, batch: 128, lr: 5e-4 },
  unet: { steps: Number(arg('--unet-steps', '9500')), batch: 64, lr: 1e-3 },
};
const P_UNCOND = 0.1;
const P_BROAD = 0.05;

const runStage = (name: string, spec: TrainStep, s: StageSpec, batch: BatchFn, useEma = false) => runStageIn(RUN, name, spec, s, batch, { useEma });
const readRecords = () => readRecordsIn(RUN);


function pick(rng: Rng, n: number, k: number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(k, n)) out.add(rng.int(n));
  return [...out];
}

function gather(src: Float32Array, rows: number[], per: number): Float32Array {
  const out = new Float32Array(rows.length * per);
  rows.forEach((r, k) => out.set(src.subarray(r * per, (r + 1) * per), k * per));
  return out;
}

async function trainVae(cfg: FamilyConfig, d: Prepared, s: StageSpec) {
  const n = d.ds.items.length, per = 3 * cfg.imageSize ** 2, lat = cfg.imageSize / 4;
  const params = await runStage('vae', vaeStep(cfg, s), s, (_step, rng) => {
    const rows = Array.from({ length: s.batch }, () => rng.int(n));
    return {
      x: new ort.Tensor('float32', gather(d.pixels, rows, per), [s.batch, 3, cfg.imageSize, cfg.imageSize]),
      noise: normalTensor(rng, [s.batch, cfg.latentChannels, lat, lat]),
    };
  });
  return { enc: stripPrefix(params, 'enc'), dec: stripPrefix(params, 'dec') };
}

async function trainClip(cfg: FamilyConfig, d: Prepared, s: StageSpec, recon: Float32Array, from?: Map<string, TensorValue>) {
  const n = d.ds.items.length, per = 3 * cfg.imageSize ** 2, L = cfg.length;
  // Captions of each image that name it (broad ones like "a bird" would be false negatives here).
  const own: number[][] = Array.from({ length: n }, () => []);
  d.owner.forEach((o, c) => { if (!d.broad[c]) own[o].push(c); });
  const params = await runStage(from ? 'clip_image' : 'clip', clipStep(cfg, s, from), s, (_step, rng) => {
    const rows = pick(rng, n, s.batch);
    const ids = new BigInt64Array(s.batch * L);
    const px = new Float32Array(s.batch * per);
    rows.forEach((r, k) => {
      const c = own[r][rng.int(own[r].length)];
      ids.set(d.ids.subarray(c * L, (c + 1) * L), k * L);
      px.set((rng.next() < 0.5 ? recon : d.pixels).subarray(r * per, (r + 1) * per), k * per);
    });
    return {
      input_ids: new ort.Tensor('int64', ids, [s.batch, L]),
      pixel_values: new ort.Tensor('float32', px, [s.batch, 3, cfg.imageSize, cfg.imageSize]),
    };
  });
  return { text: stripPrefix(params, 'text'), image: stripPrefix(params, 'image') };
}

async function trainUnet(cfg: FamilyConfig, d: Prepared, s: StageSpec, lat: { mean: Float32Array; std: Float32Array }, scale: number, hidden: Float32Array, empty: Float32Array) {
  const per = cfg.latentChannels * (cfg.imageSize / 4) ** 2, ctxPer = cfg.length * cfg.textDim;
  const ac = alphasCumprod();
  const nCaps = d.owner.length;
  return runStage('unet', unetStep(cfg, s), s, (_step, rng) => {
    const sample = new Float32Array(s.batch * per), target = new Float32Array(s.batch * per);
    const ctx = new Float32Array(s.batch * ctxPer);
    const t = new BigInt64Array(s.batch);
    const eps = rng.fillNormal(new Float32Array(per)), z = rng.fillNormal(new Float32Array(per));
    for (let k = 0; k < s.batch; k++) {
      let c = rng.int(nCaps);
      if (d.broad[c] && rng.next() > P_BROAD / 0.1) c = rng.int(nCaps); // broad captions are ~14% of all; keep them rarer
      const img = d.owner[c];
      ctx.set(rng.next() < P_UNCOND ? empty : hidden.subarray(c * ctxPer, (c + 1) * ctxPer), k * ctxPer);
      vRow(rng, ac, lat, img, scale, { sample, target, t, eps, z }, k, per);
    }
    const l = cfg.imageSize / 4;
    return {
      sample: new ort.Tensor('float32', sample, [s.batch, cfg.latentChannels, l, l]),
      timestep: new ort.Tensor('int64', t, [s.batch]),
      encoder_hidden_states: new ort.Tensor('float32', ctx, [s.batch, cfg.length, cfg.textDim]),
      target: new ort.Tensor('float32', target, [s.batch, cfg.latentChannels, l, l]),
    };
  }, true);
}


async function main(): Promise<void> {
  mkdirSync(RUN, { recursive: true });
  const plan = Object.fromEntries(Object.entries(PLAN).map(([k, s]) => [k, { ...s, steps: Math.max(2, Math.round(s.steps * SCALE)) }])) as typeof PLAN;
  const t0 = performance.now();
  log(`preparing data (out ${OUT}, run ${RUN}, scale ${SCALE})`);
  const d = await prepare(EMOJI_BASE.length);
  const cfg: FamilyConfig = { ...EMOJI_BASE, vocab: d.vocab };
  log(`${d.ds.items.length} images, ${d.owner.length} captions, vocab ${d.vocab}`);
  const vae = await trainVae(cfg, d, plan.vae);
  const recon = await reconstruct(cfg, vae.enc, vae.dec, d.pixels);
  let mse = 0;
  for (let i = 0; i < recon.length; i++) mse += (recon[i] - d.pixels[i]) ** 2 / recon.length;
  log(`vae reconstruction mse ${mse.toFixed(4)}`);
  const clip = await trainClip(cfg, d, plan.clip, recon);
  const clipAll = readSafetensors(join(RUN, 'clip.safetensors')).tensors;
  if (ONLY_IMAGE_TUNE || existsSync(join(RUN, 'clip_image.safetensors')) || !EXPORT_CHECKPOINT) {
    clip.image = (await trainClip(cfg, d, plan.image, recon, clipAll)).image;
  }
  if (ONLY_IMAGE_TUNE) return;
  const lat = await encodeLatents(cfg, vae.enc, d.pixels);
  const scalingFactor = 1 / stdOf(lat.mean);
  log(`latent std ${stdOf(lat.mean).toFixed(4)} -> scaling_factor ${scalingFactor.toFixed(5)}`);
  const hidden = await encodeCaptions(cfg, clip.text, d.ids);
  const empty = await encodeCaptions(cfg, clip.text, d.emptyIds);
  const unetW = EXPORT_CHECKPOINT ? emaFromCheckpoint(RUN, 'unet', unetStep(cfg, plan.unet).layout) : await trainUnet(cfg, d, plan.unet, lat, scalingFactor, hidden, empty);
  const weights: FamilyWeights = { text_encoder: clip.text, image_encoder: clip.image, vae_encoder: vae.enc, vae_decoder: vae.dec, unet: unetW };
  const params: Record<string, number> = {};
  for (const c of COMPONENTS) { const g = componentGraph(c, cfg); applyWeights(g, weights[c], c); params[c] = parameterCount(g); }
  const records = readRecords() as Record<string, StageRecord>;
  const facts = {
    cfg, images: d.ds.items.length, captions: d.owner.length, params, scalingFactor,
    stages: { vae: records.vae, clip: records.clip, unet: records.unet ?? records['unet.partial'] },
    trainer: 'the project\'s own engine (ONNX training-step graphs run by onnxruntime-node on the CPU)',
    extra: `\nVAE reconstruction MSE on the training images: ${mse.toFixed(4)} (pixels in [-1, 1]).\nWhole run: ${((performance.now() - t0) / 60000).toFixed(1)} min of this invocation (stages above include earlier resumed invocations).\n`,
  };
  writeFamilyFolder({ dir: OUT, cfg, weights, scalingFactor, tokenizer: d.tokenizer, defaults: { steps: 20, guidance_scale: 2, scheduler: 'ddim' }, card: modelCard(facts) });
  writeFileSync(join(RUN, 'card-facts.json'), JSON.stringify(facts, null, 2));
  log(`wrote ${OUT}`);
  mkdirSync('docs', { recursive: true });
  const curve = (k: string) => existsSync(join(RUN, `${k}.losses.json`)) ? JSON.parse(readFileSync(join(RUN, `${k}.losses.json`), 'utf8')) as number[] : [];
  await writeLossCurves([{ title: 'VAE (MSE + KL)', losses: curve('vae') }, { title: 'CLIP (InfoNCE)', losses: curve('clip') }, { title: 'UNet (v-prediction MSE)', losses: curve('unet') }], SCALE === 1 ? 'docs/embedded-loss-curves.png' : join(RUN, 'loss-curves.png'));
  await writeSamples(OUT, SCALE === 1 ? 'docs/embedded-samples.png' : join(RUN, 'samples.png'));
  await writeRealGrid(SCALE === 1 ? 'docs/embedded-real.png' : join(RUN, 'real.png'));
  log(`done in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
}

void main().catch((err: unknown) => { console.error(err); process.exit(1); });
