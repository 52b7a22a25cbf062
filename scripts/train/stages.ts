/**
 * The three training stages of the embedded family as training-step graphs on the project's engine
 * (train/train-step.ts + train/trainer.ts), and their batch functions. Order: VAE, then CLIP (text and
 * image encoders; half of its images are VAE reconstructions, so the image encoder also recognises
 * decoded samples), then the UNet on frozen VAE latents and frozen text-encoder states.
 */
import * as ort from 'onnxruntime-node';
import { Graph, init, type Rng } from '../../src/sidecar/graph';
import { buildTrainStep, type TrainStep } from '../../src/sidecar/train/train-step';
import { gradientDifferenceLoss, infoNceLoss, mseLoss, mean } from '../../src/sidecar/train/losses';
import type { Optimizer } from '../../src/sidecar/train/optim';
import type { TensorValue } from '../../src/sidecar/graph/types';
import { vaeEncoder, vaeDecoder, textEncoder, imageEncoder, unet, latentSide, type FamilyConfig } from '../../src/sidecar/nn';
import { applyWeights } from '../../src/sidecar/nn/weights';

export interface StageSpec {
  steps: number;
  batch: number;
  lr: number;
}

const cosine = (s: StageSpec, warmup: number): Optimizer => ({
  type: 'adamw', lr: { type: 'cosine', lr: s.lr, warmup, total: s.steps, minLr: s.lr * 0.05 }, weightDecay: 0,
});

/** Names under `prefix.` with the prefix removed (a stage trains several models in one graph). */
export function stripPrefix(params: Map<string, TensorValue>, prefix: string): Map<string, TensorValue> {
  const out = new Map<string, TensorValue>();
  for (const [k, v] of params) if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), { ...v, data: (v.data as Float32Array).slice() });
  return out;
}

/**
 * VAE: reconstruction MSE + a small KL to N(0, I) (Kingma & Welling 2014, eq. 10), reparameterised;
 * `edgeWeight` > 0 adds the gradient difference loss (sharper outlines, see losses.ts).
 */
export function vaeStep(cfg: FamilyConfig, s: StageSpec, o: { klWeight?: number; edgeWeight?: number } = {}): TrainStep {
  const { klWeight = 1e-5, edgeWeight = 0 } = o;
  const g = new Graph({ seed: 1 });
  const lat = latentSide(cfg);
  const x = g.input('x', 'float32', [s.batch, 3, cfg.imageSize, cfg.imageSize]);
  const noise = g.input('noise', 'float32', [s.batch, cfg.latentChannels, lat, lat]);
  const { mean: mu, logvar: lv } = g.scope('enc', () => vaeEncoder(g, cfg, x));
  const logvar = g.node('Clip', [lv, g.scalar(-30, lv), g.scalar(20, lv)])[0];
  const z = g.add(mu, g.mul(g.exp(g.mul(logvar, 0.5)), noise));
  const rec = g.scope('dec', () => vaeDecoder(g, cfg, z));
  const kl = g.mul(g.sub(g.sub(g.add(g.mul(mu, mu), g.exp(logvar)), 1), logvar), 0.5);
  const klPerImage = mean(g, g.reduceSum(kl, [1, 2, 3], false));
  let loss = g.add(mseLoss(g, rec, x), g.mul(klPerImage, klWeight));
  if (edgeWeight > 0) loss = g.add(loss, g.mul(gradientDifferenceLoss(g, rec, x), edgeWeight));
  return buildTrainStep(g, { loss, optimizer: cosine(s, 50), clipNorm: 1 });
}

/**
 * The VAE decoder alone, against a frozen encoder: `z` are latents that encoder (or a UNet working in its
 * space) produced, unscaled; `x` the drawings they should decode to. Starts from `from` (the decoder's
 * current weights), so the latent space, and every UNet trained in it, stays valid.
 */
export function decoderStep(cfg: FamilyConfig, s: StageSpec, from: Map<string, TensorValue>, o: { edgeWeight?: number } = {}): TrainStep {
  const g = new Graph({ seed: 4 });
  const lat = latentSide(cfg);
  const z = g.input('z', 'float32', [s.batch, cfg.latentChannels, lat, lat]);
  const x = g.input('x', 'float32', [s.batch, 3, cfg.imageSize, cfg.imageSize]);
  const rec = vaeDecoder(g, cfg, z);
  applyWeights(g, from, 'vae_decoder');
  let loss = mseLoss(g, rec, x);
  if ((o.edgeWeight ?? 0) > 0) loss = g.add(loss, g.mul(gradientDifferenceLoss(g, rec, x), o.edgeWeight!));
  return buildTrainStep(g, { loss, optimizer: cosine(s, 50), clipNorm: 1 });
}

/**
 * CLIP: symmetric InfoNCE between image and caption embeddings with a learned temperature. With
 * `from` (trained CLIP weights), only the image tower trains, against the frozen text tower (as in
 * LiT, Zhai et al. 2022, with the roles swapped): the text encoder the UNet was trained on stays as is.
 */
export function clipStep(cfg: FamilyConfig, s: StageSpec, from?: Map<string, TensorValue>): TrainStep {
  const g = new Graph({ seed: 2 });
  const ids = g.input('input_ids', 'int64', [s.batch, cfg.length]);
  const x = g.input('pixel_values', 'float32', [s.batch, 3, cfg.imageSize, cfg.imageSize]);
  const t = g.scope('text', () => textEncoder(g, cfg, ids)).textEmbeds;
  const i = g.scope('image', () => imageEncoder(g, cfg, x)).imageEmbeds;
  // log(1 / 0.07) as in CLIP; clipped at 100 like CLIP's logit scale.
  const logScale = g.param('logit_scale', [], init.constant(Math.log(1 / 0.07)));
  const e = g.exp(logScale);
  const scale = g.node('Clip', [e, g.scalar(0, e), g.scalar(100, e)])[0];
  const loss = infoNceLoss(g, i, t, scale);
  if (!from) return buildTrainStep(g, { loss, optimizer: cosine(s, 100), clipNorm: 1 });
  applyWeights(g, from, 'clip');
  const params = [...g.trainable].filter((n) => n.startsWith('image.'));
  return buildTrainStep(g, { loss, optimizer: cosine(s, 50), clipNorm: 1, params });
}

/**
 * UNet: v-prediction MSE (Salimans & Ho 2022); the noised sample and target are made in the batch.
 * `from`: weights to start from (a trained UNet to fine-tune) instead of the initialisation; layers
 * it lacks (cfg.unetOuterBlocks deepening it) start at their initial values.
 */
export function unetStep(cfg: FamilyConfig, s: StageSpec, from?: Map<string, TensorValue>): TrainStep {
  const g = new Graph({ seed: 3 });
  const lat = latentSide(cfg);
  const x = g.input('sample', 'float32', [s.batch, cfg.latentChannels, lat, lat]);
  const t = g.input('timestep', 'int64', [s.batch]);
  const ctx = g.input('encoder_hidden_states', 'float32', [s.batch, cfg.length, cfg.textDim]);
  const target = g.input('target', 'float32', [s.batch, cfg.latentChannels, lat, lat]);
  const loss = mseLoss(g, unet(g, cfg, x, t, ctx), target);
  if (from) applyWeights(g, from, 'unet', { allowMissing: true });
  return buildTrainStep(g, { loss, optimizer: cosine(s, 200), clipNorm: 1, emaDecay: 0.999 });
}

/** Stable Diffusion's "scaled_linear" betas: linspace(sqrt(b0), sqrt(b1), T)^2; returns alpha-bar_t. */
export function alphasCumprod(T = 1000, b0 = 0.00085, b1 = 0.012): Float64Array {
  const out = new Float64Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    const beta = (Math.sqrt(b0) + (Math.sqrt(b1) - Math.sqrt(b0)) * i / (T - 1)) ** 2;
    prod *= 1 - beta;
    out[i] = prod;
  }
  return out;
}

export function normalTensor(rng: Rng, dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', rng.fillNormal(new Float32Array(n)), dims);
}

/** A UNet batch under construction: noised samples, v targets, timesteps; `eps`, `z` are per-row scratch. */
export interface VBatch { sample: Float32Array; target: Float32Array; t: BigInt64Array; eps: Float32Array; z: Float32Array }

/**
 * One v-prediction training row (Salimans & Ho 2022) at row `k`: draws the timestep, then eps and z (in
 * that order, so a resumed run sees the same data); x0 = scale * (mean + std * z), a posterior sample of
 * image `img`'s latent scaled to unit variance; sample = a * x0 + s * eps; target v = a * eps - s * x0.
 */
export function vRow(rng: Rng, ac: Float64Array, lat: { mean: Float32Array; std: Float32Array }, img: number, scale: number, b: VBatch, k: number, per: number): void {
  const ti = rng.int(ac.length);
  b.t[k] = BigInt(ti);
  const a = Math.sqrt(ac[ti]), sg = Math.sqrt(1 - ac[ti]);
  rng.fillNormal(b.eps);
  rng.fillNormal(b.z);
  for (let j = 0; j < per; j++) {
    const x0 = scale * (lat.mean[img * per + j] + lat.std[img * per + j] * b.z[j]);
    b.sample[k * per + j] = a * x0 + sg * b.eps[j];
    b.target[k * per + j] = a * b.eps[j] - sg * x0;
  }
}

/** Standard deviation of all values (the latent scaling factor is its inverse). */
export function stdOf(x: Float32Array): number {
  let m = 0, v = 0;
  for (const a of x) m += a / x.length;
  for (const a of x) v += (a - m) ** 2 / x.length;
  return Math.sqrt(v);
}
