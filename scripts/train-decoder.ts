/**
 * `npx tsx scripts/train-decoder.ts [--model models/emoji-styles] [--run .cache/train-decoder]
 *   [--steps 3000] [--batch 24] [--lr 5e-4] [--p-denoised 0.5] [--t-max 400] [--guidance 3]
 *   [--edge-weight 0]`
 *
 * Retrains the VAE decoder of a 64x64 family (issue 13) against its frozen encoder: the latent space
 * stays, so the family's UNet and every student distilled from it keep working unchanged. Why: the
 * style evaluator reads real drawings at 86% but the decoder's reconstructions of them at 64% and the
 * samples at 29%: samples come from the UNet's latents, which are softer than any encoder latent the
 * decoder was trained on (1,500 steps, jointly with the encoder).
 *
 * What the decoder sees, per batch row: the encoder's latent of a training drawing, or (share
 * `--p-denoised`) the UNet's own estimate of that latent, x0 from one guided prediction at a random
 * timestep below `--t-max` of the noised latent, with one of the drawing's training captions. The target
 * is always the drawing, so the decoder learns to draw what the UNet's soft latents stand for (as
 * Stable Diffusion's decoders were fine-tuned on their own latents). Resumable (checkpoints under
 * --run); writes <run>/model, a copy of the family with the new decoder, for eval and the probes.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Rng, saveModel } from '../src/sidecar/graph';
import { EMOJI_STYLES_64, latentSide } from '../src/sidecar/nn';
import { componentGraph } from '../src/sidecar/nn/family';
import { applyWeights, readOnnxWeights } from '../src/sidecar/nn/weights';
import { resolveModel, modelRoots } from '../src/sidecar/io/model-discovery';
import { openModel, type OpenModel } from '../src/sidecar/pipelines/model-sessions';
import { encodePrompts } from '../src/sidecar/pipelines/core/prompt';
import { readFloats } from '../src/sidecar/pipelines/tensors';
import { applyGuidance } from '../src/sidecar/pipelines/guidance';
import { contextRows } from '../src/sidecar/pipelines/core/unet-feeds';
import { alphaBarFor } from '../src/sidecar/schedulers/noise-schedule';
import { splitPredictionVp } from '../src/sidecar/schedulers/prediction';
import { writeAtomic } from '../src/sidecar/io/atomic';
import { decoderStep } from './train/stages';
import { loadStylesData, randomRow, rowCaption, gatherPixels, type StylesData } from './train/styles-data';
import { log, runStage } from './train/run-stage';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/emoji-styles' },
    run: { type: 'string', default: '.cache/train-decoder' },
    steps: { type: 'string', default: '3000' },
    batch: { type: 'string', default: '24' },
    lr: { type: 'string', default: '5e-4' },
    'p-denoised': { type: 'string', default: '0.5' },
    't-max': { type: 'string', default: '400' },
    guidance: { type: 'string', default: '3' },
    'edge-weight': { type: 'string', default: '0' },
  },
});
const cfg = { ...EMOJI_STYLES_64, vocab: 0 };
const LAT = cfg.latentChannels * latentSide(cfg) ** 2;
const PX = 3 * cfg.imageSize ** 2;

/** The encoder's latent (posterior mean, unscaled) of every training image. */
async function encodeAll(model: OpenModel, d: StylesData): Promise<Float32Array> {
  const n = d.pixels.length / PX, out = new Float32Array(n * LAT);
  for (let i = 0; i < n; i += 64) {
    const m = Math.min(64, n - i);
    const r = await model.vaeEncoder!.run({ sample: new ort.Tensor('float32', d.pixels.slice(i * PX, (i + m) * PX), [m, 3, cfg.imageSize, cfg.imageSize]) });
    out.set(readFloats(r.latent_sample), i * LAT);
  }
  return out;
}

/**
 * For every training image, the UNet's guided x0 estimate of its latent noised to a random timestep
 * in [0, tMax), unscaled like the encoder's latents; the noise schedule and prediction type are the
 * folder's own. Seeded, so a resumed run rebuilds the same pool.
 */
async function denoisedPool(model: OpenModel, d: StylesData, clean: Float32Array, tMax: number, guidance: number): Promise<Float32Array> {
  const n = clean.length / LAT, out = new Float32Array(n * LAT), rng = new Rng(11);
  const sched = model.folder.schedulerConfig, ac = alphaBarFor(sched);
  const scale = model.folder.scalingFactor, side = latentSide(cfg), B = 64;
  const empty = await encodePrompts(model, ['']);
  for (let i = 0; i < n; i += B) {
    const m = Math.min(B, n - i);
    const rows = Array.from({ length: m }, (_, k) => i + k);
    const text = await encodePrompts(model, rows.map((r) => rowCaption(d, r, rng)));
    const t = rows.map(() => rng.int(tMax));
    const zt = new Float32Array(m * LAT), eps = new Float32Array(LAT);
    rows.forEach((r, k) => {
      const sa = Math.sqrt(ac[t[k]]), sb = Math.sqrt(1 - ac[t[k]]);
      rng.fillNormal(eps);
      for (let j = 0; j < LAT; j++) zt[k * LAT + j] = sa * scale * clean[r * LAT + j] + sb * eps[j];
    });
    // Rows [unconditional x m, conditional x m], as the pipeline's guidance batch.
    const ctx = contextRows(text.data, empty.data, m);
    const both = new Float32Array(2 * m * LAT);
    both.set(zt); both.set(zt, m * LAT);
    const raw = readFloats((await model.unet.run({
      sample: new ort.Tensor('float32', both, [2 * m, cfg.latentChannels, side, side]),
      timestep: new ort.Tensor('int64', BigInt64Array.from([...t, ...t].map(BigInt)), [2 * m]),
      encoder_hidden_states: new ort.Tensor('float32', ctx, [2 * m, ...empty.dims.slice(1)]),
    })).out_sample);
    const guided = applyGuidance(raw, guidance);
    for (let k = 0; k < m; k++) {
      const row = (x: Float32Array) => x.subarray(k * LAT, (k + 1) * LAT);
      const { x0 } = splitPredictionVp(sched.prediction_type, row(guided), row(zt), ac[t[k]]);
      out.set(x0.map((x) => x / scale), (i + k) * LAT);
    }
    if (i % (B * 50) === 0) log(`denoised pool ${i}/${n}`);
  }
  return out;
}

/** A Float32Array kept in `file` across runs (written atomically), made once. */
async function cached(file: string, make: () => Promise<Float32Array>): Promise<Float32Array> {
  if (existsSync(file)) { const b = readFileSync(file); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); }
  const x = await make();
  writeAtomic(file, [new Uint8Array(x.buffer, x.byteOffset, x.byteLength)]);
  return x;
}

async function main(): Promise<void> {
  const run = a.run!, pDenoised = Number(a['p-denoised']), tMax = Number(a['t-max']);
  mkdirSync(run, { recursive: true });
  const folder = resolveModel(a.model!, modelRoots([]));
  const model = await openModel(folder, {}, true);
  const d = await loadStylesData(cfg.imageSize, cfg.length);
  const clean = await cached(join(run, 'latents.f32'), () => encodeAll(model, d));
  const pool = pDenoised > 0 ? await cached(join(run, `denoised-t${tMax}-g${a.guidance}.f32`), () => denoisedPool(model, d, clean, tMax, Number(a.guidance))) : clean;
  const s = { steps: Number(a.steps), batch: Number(a.batch), lr: Number(a.lr) };
  const from = readOnnxWeights(folder.files.vaeDecoder);
  const params = await runStage(run, 'decoder', decoderStep(cfg, s, from, { edgeWeight: Number(a['edge-weight']) }), s, (_step, rng) => {
    const rows = Array.from({ length: s.batch }, () => randomRow(d, rng));
    const z = new Float32Array(s.batch * LAT);
    rows.forEach((r, k) => z.set((rng.next() < pDenoised ? pool : clean).subarray(r * LAT, (r + 1) * LAT), k * LAT));
    return {
      z: new ort.Tensor('float32', z, [s.batch, cfg.latentChannels, latentSide(cfg), latentSide(cfg)]),
      x: new ort.Tensor('float32', gatherPixels(d, rows), [s.batch, 3, cfg.imageSize, cfg.imageSize]),
    };
  });
  // A copy of the family with the new decoder (same graph, new weights).
  const out = join(run, 'model');
  rmSync(out, { recursive: true, force: true });
  cpSync(folder.dir, out, { recursive: true });
  const g = componentGraph('vae_decoder', cfg);
  applyWeights(g, params, 'vae_decoder');
  saveModel(g, join(out, 'vae_decoder', 'model.onnx'));
  log(`wrote ${out} (decoder trained ${s.steps} steps, p-denoised ${pDenoised}, t-max ${tMax})`);
}

main().catch((err) => { console.error(err); process.exit(1); });
