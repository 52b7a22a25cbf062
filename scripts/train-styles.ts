/**
 * `npm run train:embedded`: trains the embedded default family, models/emoji-styles (64x64, seven emoji
 * styles and digits; issue 13, nn/config.ts EMOJI_STYLES_64)
 * on the project's own engine: VAE -> CLIP -> image tower (LiT) -> UNet -> export -> sample grid. The
 * data: the seven-style emoji set and the MNIST training split (scripts/train/styles-data.ts). Every
 * stage checkpoints every 100 steps into the run folder and a finished stage is skipped, so rerunning
 * the command resumes; the UNet is meant to train across several sessions. Options:
 *   --out <dir>     model folder to write (default models/emoji-styles; with --export-checkpoint
 *                   .cache/train-styles/model-checkpoint, an interim look that is not shipped)
 *   --run <dir>     checkpoints, losses, logs (default .cache/train-styles)
 *   --scale <x>     multiply every stage's step count (0.002 is a smoke test of the whole chain)
 *   --unet-steps <n> the UNet's planned length (its cosine schedule; default 24000)
 *   --vae-steps <n>  the VAE's length (default 1500); raising it continues a finished VAE from its
 *                   checkpoint (a warm restart of the cosine schedule). The stages after it must then
 *                   be trained again: delete their files from the run folder
 *   --device auto|cpu|cuda  where the training steps run (default cpu; auto/cuda use the sidecar's
 *                   provider choice, which says why when CUDA is unavailable); checkpoints are the same
 *                   either way, so a run may move between this CPU and a lent GPU
 *   --vae-edge-weight <w>  weight of the gradient difference loss beside the VAE's MSE (default 0:
 *                   MSE + KL alone; docs/MODELS.md has what 1 did)
 *   --latent-channels <n>  the VAE's latent channels (default EMOJI_STYLES_64's; for comparing designs)
 *   --styled-share <p>  share of the UNet's emoji captions that name their style (default 0.5)
 *   --x0 sample|mean  the UNet's clean latents: a sample of the VAE's posterior (default; how the shipped
 *                   UNet trained) or its mean (docs/MODELS.md, "The posterior noise": the choice for the
 *                   next run from scratch)
 *   --until vae|clip  stop after that stage (to compare VAE designs with check-vae before the rest)
 *   --export-checkpoint  write the folder now from the UNet's latest checkpoint (EMA weights) while
 *                   another invocation is still training it (the earlier stages must be finished)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readSafetensors } from '../src/sidecar/io/safetensors';
import type { TensorValue } from '../src/sidecar/graph/types';
import { createSession, Graph, type Rng } from '../src/sidecar/graph';
import { EMOJI_STYLES_64, latentSide, textEncoder, type FamilyConfig } from '../src/sidecar/nn';
import { applyWeights, parameterCount } from '../src/sidecar/nn/weights';
import { writeFamilyFolder, componentGraph, COMPONENTS, type FamilyWeights } from '../src/sidecar/nn/family';
import { stylesCard, styleSource, type StylesCardFacts } from './train/styles-card';
import { vaeStep, clipStep, unetStep, stripPrefix, alphasCumprod, normalTensor, vRow, stdOf, type StageSpec } from './train/stages';
import { encodeLatents, reconstruct } from './train/prepare';
import { log, emaFromCheckpoint, runStage, readRecords } from './train/run-stage';
import { loadStylesData, randomRow, rowCaption, rowDigit, gatherPixels, type StylesData } from './train/styles-data';
import { drawingsByEmoji } from '../src/sidecar/train/data/emoji-styles';
import { writeLossCurves } from './train/curves';
import { writeSampleGrid } from './train/grid';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { loadModelFolder } from '../src/sidecar/io/model-folder';
import { sampleImages } from '../src/sidecar/pipelines/eval/sample';
import { chooseProvider } from '../src/sidecar/runtime/providers';

/** Imagic on this family: chosen by `npm run report:imagic -- --dry --pairs 4` sweeps (docs/IMAGIC.md, "On the 64x64 default model"). */
const EDIT_DEFAULTS = { guidance_scale: 1.25, embedding_steps: 300, train_batch: 8 };
/**
 * The generation default: 2.5 against 3, two eval seeds each (docs/MODELS.md, "The default guidance"):
 * FID-analogue 0.034 / 0.032 vs 0.051 / 0.046, styles per 8 seeds 3.17 / 3.15 vs 2.94 / 2.88, the same
 * CLIP-score, object and style-word figures.
 */
const GUIDANCE_DEFAULT = 2.5;

const arg = (name: string, def: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const RUN = arg('--run', '.cache/train-styles');
const EXPORT_CHECKPOINT = process.argv.includes('--export-checkpoint');
const SCALE = Number(arg('--scale', '1'));
// A scaled-down smoke run never writes over the shipped folder unless told to.
const SHIPPED = !EXPORT_CHECKPOINT && SCALE === 1 && !process.argv.includes('--out');
const OUT = arg('--out', SHIPPED ? 'models/emoji-styles' : join(RUN, EXPORT_CHECKPOINT ? 'model-checkpoint' : 'model'));
const DEVICE = arg('--device', 'cpu');
let PROVIDERS: readonly string[] | undefined;

/** Steps, batch, peak learning rate per stage. The UNet is the long part (several sessions on 2 cores). */
const PLAN: Record<'vae' | 'clip' | 'image' | 'unet', StageSpec> = {
  vae: { steps: Number(arg('--vae-steps', '1500')), batch: 24, lr: 2e-3 },
  clip: { steps: 1500, batch: 128, lr: 1e-3 },
  image: { steps: 1500, batch: 128, lr: 5e-4 },
  unet: { steps: Number(arg('--unet-steps', '24000')), batch: 64, lr: 1e-3 },
};
const P_UNCOND = 0.1;
const VAE_EDGE_WEIGHT = Number(arg('--vae-edge-weight', '0'));
const UNTIL = arg('--until', 'unet');
const STYLED_SHARE = Number(arg('--styled-share', '0.5'));
const X0 = arg('--x0', 'sample');

async function trainVae(cfg: FamilyConfig, d: StylesData, s: StageSpec) {
  const lat = latentSide(cfg);
  const params = await runStage(RUN, 'vae', vaeStep(cfg, s, { edgeWeight: VAE_EDGE_WEIGHT }), s, (_step, rng) => {
    // Uniform over drawings; digits at their own share so most capacity goes to the emoji.
    const rows = Array.from({ length: s.batch }, () => randomRow(d, rng));
    return {
      x: new ort.Tensor('float32', gatherPixels(d, rows), [s.batch, 3, cfg.imageSize, cfg.imageSize]),
      noise: normalTensor(rng, [s.batch, cfg.latentChannels, lat, lat]),
    };
  }, { providers: PROVIDERS });
  return { enc: stripPrefix(params, 'enc'), dec: stripPrefix(params, 'dec') };
}

/**
 * CLIP batches: distinct emoji (a plain caption names every drawing of its emoji, so two drawings of one
 * emoji in a batch would be false negatives), each in a random style, and one digit of each class.
 */
function clipRows(d: StylesData, batch: number): (rng: Rng) => number[] {
  const byEmoji = drawingsByEmoji(d.styles); // emoji rows are styles.samples indices
  const byDigit: number[][] = Array.from({ length: 10 }, () => []);
  for (let r = d.emojiRows; r < d.emojiRows + d.digitRows; r++) byDigit[rowDigit(d, r)].push(r);
  return (rng) => {
    const emoji = new Set<number>();
    while (emoji.size < batch - 10) emoji.add(rng.int(byEmoji.length));
    return [...[...emoji].map((e) => byEmoji[e][rng.int(byEmoji[e].length)]), ...byDigit.map((rs) => rs[rng.int(rs.length)])];
  };
}

async function trainClip(cfg: FamilyConfig, d: StylesData, s: StageSpec, recon: Float32Array, from?: Map<string, TensorValue>) {
  const rowsOf = clipRows(d, s.batch);
  const params = await runStage(RUN, from ? 'clip_image' : 'clip', clipStep(cfg, s, from), s, (_step, rng) => {
    const rows = rowsOf(rng);
    const px = gatherPixels(d, rows, rng.next() < 0.5 ? recon : d.pixels);
    return {
      input_ids: new ort.Tensor('int64', d.encode(rows.map((r) => rowCaption(d, r, rng))), [s.batch, cfg.length]),
      pixel_values: new ort.Tensor('float32', px, [s.batch, 3, cfg.imageSize, cfg.imageSize]),
    };
  }, { providers: PROVIDERS });
  return { text: stripPrefix(params, 'text'), image: stripPrefix(params, 'image') };
}

/** The frozen text encoder as a session: prompts' token ids -> last_hidden_state, per batch. */
async function textSession(cfg: FamilyConfig, te: Map<string, TensorValue>) {
  const g = new Graph({ seed: 0 });
  const x = g.input('input_ids', 'int64', ['batch', cfg.length]);
  g.output(textEncoder(g, cfg, x).lastHiddenState, 'h');
  applyWeights(g, te, 'text_encoder');
  const session = await createSession(g);
  return async (ids: BigInt64Array) => (await session.run({ input_ids: new ort.Tensor('int64', ids, [ids.length / cfg.length, cfg.length]) })).h.data as Float32Array;
}

async function trainUnet(cfg: FamilyConfig, d: StylesData, s: StageSpec, lat: { mean: Float32Array; std: Float32Array }, scale: number, te: Map<string, TensorValue>) {
  const side = latentSide(cfg), per = cfg.latentChannels * side * side, ctxPer = cfg.length * cfg.textDim;
  const ac = alphasCumprod();
  const encode = await textSession(cfg, te);
  const empty = await encode(d.encode(['']));
  // --x0 mean: no posterior noise in the targets (a zero std makes vRow's x0 the mean).
  if (X0 === 'mean') lat = { mean: lat.mean, std: new Float32Array(lat.std.length) };
  return runStage(RUN, 'unet', unetStep(cfg, s), s, async (_step, rng) => {
    const rows = Array.from({ length: s.batch }, () => randomRow(d, rng));
    const ctx = await encode(d.encode(rows.map((r) => rowCaption(d, r, rng, STYLED_SHARE))));
    const sample = new Float32Array(s.batch * per), target = new Float32Array(s.batch * per);
    const t = new BigInt64Array(s.batch);
    const eps = new Float32Array(per), z = new Float32Array(per);
    rows.forEach((img, k) => {
      if (rng.next() < P_UNCOND) ctx.set(empty, k * ctxPer);
      vRow(rng, ac, lat, img, scale, { sample, target, t, eps, z }, k, per);
    });
    return {
      sample: new ort.Tensor('float32', sample, [s.batch, cfg.latentChannels, side, side]),
      timestep: new ort.Tensor('int64', t, [s.batch]),
      encoder_hidden_states: new ort.Tensor('float32', ctx, [s.batch, cfg.length, cfg.textDim]),
      target: new ort.Tensor('float32', target, [s.batch, cfg.latentChannels, side, side]),
    };
  }, { useEma: true, providers: PROVIDERS, warmStart: true });
}



/** What the model card says, from this run (eval's figures join it later: scripts/train/update-card.ts). */
function cardFacts(cfg: FamilyConfig, d: StylesData, weights: FamilyWeights, scalingFactor: number, vaeMse: number): StylesCardFacts {
  const params: Record<string, number> = {};
  for (const c of COMPONENTS) { const g = componentGraph(c, cfg); applyWeights(g, weights[c], c); params[c] = parameterCount(g); }
  const drawings = d.styles.styles.map((_, k) => d.styles.samples.filter((x) => x.style === k).length);
  const records = readRecords(RUN) as StylesCardFacts['stages'];
  const partial = EXPORT_CHECKPOINT ? ' (checkpoint: the UNet row is the run so far)' : '';
  return {
    card: 'styles', name: 'emoji-styles', cfg, emoji: d.emojiRows, digits: d.digitRows, params, scalingFactor, vaeMse,
    styles: d.styles.styles.map((st, k) => styleSource(st, drawings[k])),
    stages: { vae: records.vae, clip: records.clip, 'clip (image tower)': records.clip_image, unet: records.unet ?? records['unet.partial'] },
    trainer: `the project's own engine (ONNX training-step graphs run by onnxruntime-node on the CPU)${partial}`,
  };
}

const GRID = ['a graceful swan', 'a red apple', 'a cat face', 'a rocket', 'a graceful swan, flat style', 'a graceful swan in the 3d style', 'a handwritten number 7', 'a handwritten number 3'];

async function main(): Promise<void> {
  mkdirSync(RUN, { recursive: true });
  if (!['vae', 'clip', 'unet'].includes(UNTIL)) throw new Error(`--until ${UNTIL}: expected vae, clip or unet`);
  if (X0 !== 'sample' && X0 !== 'mean') throw new Error(`--x0 ${X0}: expected sample or mean`);
  if (DEVICE !== 'cpu') {
    if (DEVICE !== 'auto' && DEVICE !== 'cuda') throw new Error(`--device ${DEVICE}: expected auto, cpu or cuda`);
    const choice = await chooseProvider(DEVICE);
    log(`device: ${choice.provider} (${choice.deviceName})${choice.note ? `: ${choice.note}` : ''}`);
    if (DEVICE === 'cuda' && choice.provider !== 'cuda') throw new Error(`--device cuda: CUDA is not usable here${choice.note ? `: ${choice.note}` : ''}`);
    PROVIDERS = choice.executionProviders;
  }
  const plan = Object.fromEntries(Object.entries(PLAN).map(([k, s]) => [k, { ...s, steps: Math.max(2, Math.round(s.steps * SCALE)) }])) as typeof PLAN;
  const t0 = performance.now();
  log(`loading data (out ${OUT}, run ${RUN}, scale ${SCALE})`);
  const d = await loadStylesData(EMOJI_STYLES_64.imageSize, EMOJI_STYLES_64.length);
  const cfg: FamilyConfig = { ...EMOJI_STYLES_64, vocab: d.vocab, latentChannels: Number(arg('--latent-channels', String(EMOJI_STYLES_64.latentChannels))) };
  log(`${d.emojiRows} drawings + ${d.digitRows} digits, vocab ${d.vocab}`);
  const vae = await trainVae(cfg, d, plan.vae);
  const recon = await reconstruct(cfg, vae.enc, vae.dec, d.pixels);
  let mse = 0;
  for (let i = 0; i < recon.length; i++) mse += (recon[i] - d.pixels[i]) ** 2 / recon.length;
  log(`vae reconstruction mse ${mse.toFixed(4)} (PSNR ${(10 * Math.log10(4 / mse)).toFixed(2)} dB)`);
  if (UNTIL === 'vae') return;
  const clip = await trainClip(cfg, d, plan.clip, recon);
  const clipAll = readSafetensors(join(RUN, 'clip.safetensors')).tensors;
  clip.image = (await trainClip(cfg, d, plan.image, recon, clipAll)).image;
  if (UNTIL === 'clip') return;
  const lat = await encodeLatents(cfg, vae.enc, d.pixels);
  const scalingFactor = 1 / stdOf(lat.mean);
  log(`latent std ${stdOf(lat.mean).toFixed(4)} -> scaling_factor ${scalingFactor.toFixed(5)}`);
  const unetW = EXPORT_CHECKPOINT ? emaFromCheckpoint(RUN, 'unet', unetStep(cfg, plan.unet).layout) : await trainUnet(cfg, d, plan.unet, lat, scalingFactor, clip.text);
  const weights: FamilyWeights = { text_encoder: clip.text, image_encoder: clip.image, vae_encoder: vae.enc, vae_decoder: vae.dec, unet: unetW };
  const facts = cardFacts(cfg, d, weights, scalingFactor, mse);
  writeFamilyFolder({ dir: OUT, cfg, weights, scalingFactor, tokenizer: d.tokenizer, defaults: { steps: 20, guidance_scale: GUIDANCE_DEFAULT, scheduler: 'ddim', edit: EDIT_DEFAULTS }, card: stylesCard(facts) });
  writeFileSync(join(RUN, 'card-facts.json'), JSON.stringify(facts, null, 2));
  log(`wrote ${OUT}`);
  const curve = (k: string) => existsSync(join(RUN, `${k}.losses.json`)) ? JSON.parse(readFileSync(join(RUN, `${k}.losses.json`), 'utf8')) as number[] : [];
  await writeLossCurves([{ title: 'VAE (MSE + KL)', losses: curve('vae') }, { title: 'CLIP (InfoNCE)', losses: curve('clip') }, { title: 'UNet (v-prediction MSE)', losses: curve('unet') }], SHIPPED ? 'docs/images/styles64-loss-curves.png' : join(RUN, 'loss-curves.png'));
  const model = await openModel(loadModelFolder(OUT), {});
  for (const seed of [1, 2]) {
    const { images, size } = await sampleImages(model, GRID, { steps: 20, guidance: 3, scheduler: 'ddim', seed });
    await writeSampleGrid(images, size, GRID, 4, join(RUN, `samples-seed${seed}.png`), 2);
  }
  writeFileSync(join(RUN, 'done.json'), JSON.stringify({ minutes: (performance.now() - t0) / 60000, mse }));
  log(`done in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
}

void main().catch((err: unknown) => { console.error(err); process.exit(1); });
