/**
 * `npx tsx scripts/train-subset.ts [--model models/emoji-styles] [--run .cache/train-subset]
 *   [--subset heldout|all] [--steps 2000] [--batch 32] [--lr 3e-4] [--styled-share 0.5] [--threads N]`
 *
 * A capacity probe for the 64x64 family (issue 13; docs/MODELS.md, "Is it capacity?"). The shipped UNet
 * follows a style word for 28.6% of samples (chance 14%). Either it cannot (the text does not reach
 * what it draws, or the VAE's latents cannot tell the styles apart), or it has not the capacity to
 * learn 1,412 emoji in seven styles at once. This fine-tunes the shipped UNet, with the training
 * recipe's own captions, on a tenth of the emoji (`--subset heldout`: the style evaluator's held-out
 * emoji, index 9 mod 10, the very ones eval's style-word and variety measures prompt), or on all of
 * them with the same steps (`--subset all`, the control). If the subset run obeys the style words far
 * more often than the control, the architecture can draw the styles apart and the shipped model lacks
 * the capacity or the training to do it for every emoji.
 *
 * Resumable (checkpoints under --run); writes <run>/model, a copy of the family with the new UNet, for
 * `diffusion-studio eval`.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { saveModel } from '../src/sidecar/graph';
import { EMOJI_STYLES_64, latentSide } from '../src/sidecar/nn';
import { componentGraph } from '../src/sidecar/nn/family';
import { applyWeights, readOnnxWeights } from '../src/sidecar/nn/weights';
import { resolveModel, modelRoots } from '../src/sidecar/io/model-discovery';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { encodePrompts } from '../src/sidecar/pipelines/core/prompt';
import { unetStep, alphasCumprod, vRow } from './train/stages';
import { encodeLatents } from './train/prepare';
import { loadStylesData, randomRow, rowCaption, gatherPixels } from './train/styles-data';
import { log, runStage } from './train/run-stage';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/emoji-styles' },
    run: { type: 'string', default: '.cache/train-subset' },
    subset: { type: 'string', default: 'heldout' },
    steps: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '3e-4' },
    'styled-share': { type: 'string', default: '0.5' },
    latents: { type: 'string', default: 'sample' },
    'outer-blocks': { type: 'string', default: '1' },
    threads: { type: 'string' },
  },
});
const P_UNCOND = 0.1; // as the family's training (scripts/train-styles.ts)

async function main(): Promise<void> {
  // --outer-blocks N deepens the UNet's 16x16 level: blocks past the first start as the identity.
  const cfg = { ...EMOJI_STYLES_64, vocab: 0, unetOuterBlocks: Number(a['outer-blocks']) };
  if (a.subset !== 'heldout' && a.subset !== 'all') throw new Error(`--subset ${a.subset}: expected heldout or all`);
  if (a.latents !== 'sample' && a.latents !== 'mean') throw new Error(`--latents ${a.latents}: expected sample or mean`);
  const run = a.run!, styled = Number(a['styled-share']);
  mkdirSync(run, { recursive: true });
  const folder = resolveModel(a.model!, modelRoots([]));
  const model = await openModel(folder, {});
  const d = await loadStylesData(cfg.imageSize, cfg.length);
  // --subset all: every training row, the digits at their share (as the family's training);
  // heldout: the held-out emoji's drawings only.
  const rows = a.subset === 'all'
    ? Array.from({ length: d.emojiRows + d.digitRows }, (_, k) => k)
    : d.styles.samples.map((x, k) => [x.emoji, k] as const).filter(([e]) => e % 10 === 9).map(([, k]) => k);
  log(`${rows.length} rows (--subset ${a.subset}), x0 = posterior ${a.latents}`);
  const lat = await encodeLatents(cfg, readOnnxWeights(folder.files.vaeEncoder!), a.subset === 'all' ? d.pixels : gatherPixels(d, rows));
  // --latents mean trains on the encoder's posterior means: a posterior sample adds noise of 0.78x the
  // means' spread, which no UNet can predict (docs/MODELS.md, "The posterior noise").
  if (a.latents === 'mean') lat.std.fill(0);
  const side = latentSide(cfg), per = cfg.latentChannels * side * side, ac = alphasCumprod();
  const empty = await encodePrompts(model, ['']);
  const s = { steps: Number(a.steps), batch: Number(a.batch), lr: Number(a.lr) };
  const params = await runStage(run, 'unet', unetStep(cfg, s, readOnnxWeights(folder.files.unet)), s, async (_step, rng) => {
    const pick = Array.from({ length: s.batch }, () => a.subset === 'all' ? randomRow(d, rng) : rng.int(rows.length));
    const ctx = await encodePrompts(model, pick.map((i) => rowCaption(d, rows[i], rng, styled)));
    const ctxPer = ctx.data.length / s.batch;
    const b = { sample: new Float32Array(s.batch * per), target: new Float32Array(s.batch * per), t: new BigInt64Array(s.batch), eps: new Float32Array(per), z: new Float32Array(per) };
    pick.forEach((i, k) => {
      if (rng.next() < P_UNCOND) ctx.data.set(empty.data, k * ctxPer);
      vRow(rng, ac, lat, i, folder.scalingFactor, b, k, per);
    });
    return {
      sample: new ort.Tensor('float32', b.sample, [s.batch, cfg.latentChannels, side, side]),
      timestep: new ort.Tensor('int64', b.t, [s.batch]),
      encoder_hidden_states: new ort.Tensor('float32', ctx.data, ctx.dims),
      target: new ort.Tensor('float32', b.target, [s.batch, cfg.latentChannels, side, side]),
    };
  }, { useEma: true, ...(a.threads ? { threads: Number(a.threads) } : {}) });
  const out = join(run, 'model');
  rmSync(out, { recursive: true, force: true });
  cpSync(folder.dir, out, { recursive: true });
  const g = componentGraph('unet', cfg);
  applyWeights(g, params, 'unet');
  saveModel(g, join(out, 'unet', 'model.onnx'));
  log(`wrote ${out} (UNet fine-tuned ${s.steps} steps on --subset ${a.subset})`);
}

main().catch((err) => { console.error(err); process.exit(1); });
