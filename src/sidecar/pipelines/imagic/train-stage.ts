/**
 * One optimisation stage of Imagic (Kawar et al. 2023, section 3): the denoising loss of the input
 * image's latent x0 at random timesteps with seeded noise, minimised with Adam over either the text
 * embedding (stage 1, model frozen) or the UNet's weights / LoRA adapters (stage 2, embedding frozen).
 *
 * Per step, for a batch of B draws:
 *   t ~ U{0, ..., T-1},  eps ~ N(0, I)
 *   x_t = sqrt(aBar_t) x0 + sqrt(1 - aBar_t) eps                          (Ho et al. 2020, eq. 4)
 *   target = eps (epsilon), v = sqrt(aBar_t) eps - sqrt(1 - aBar_t) x0 (v_prediction, Salimans & Ho
 *            2022, section 4) or x0 (sample), per the model's prediction_type
 *   loss = mean((unet(x_t, t, e) - target)^2)
 */
import * as ort from 'onnxruntime-node';
import type { PredictionType } from '../../schedulers/config';
import { SeededRandom } from '../../schedulers/index';
import { floatTensor } from '../tensors';
import type { UnetSignature } from '../model-sessions';
import { Adam } from './adam';

type TimestepType = UnetSignature['timestepType'];
type TimestepShape = UnetSignature['timestepShape'];

export class ImagicCancelledError extends Error {
  constructor() {
    super('edit cancelled');
    this.name = 'ImagicCancelledError';
  }
}

export interface StageInput {
  /** The loss-and-gradient session (loss-graph.ts) and the names it differentiates. */
  session: ort.InferenceSession;
  wrt: string[];
  /** Trainable tensors, updated in place: name -> values (and dims for feeding). */
  params: Map<string, { data: Float32Array; dims: number[] }>;
  /** Fixed embedding [1, L, D] when it is not trained (stage 2). */
  embedding: { data: Float32Array; dims: number[] };
  /** The image latent x0 [1, C, h, w], already scaled by the VAE's scaling factor. */
  latent: { data: Float32Array; dims: number[] };
  alphaBar: Float64Array;
  prediction: PredictionType;
  timestepType: TimestepType;
  /** How the UNet takes its timestep: one per batch row, or one value shared by the batch. */
  timestepShape: TimestepShape;
  steps: number;
  lr: number;
  batch: number;
  seed: number;
}

export interface StageHooks {
  onStep?(step: number, total: number, loss: number): void;
  isCancelled?(): boolean;
}

/** Runs the stage; returns the loss of every step. Stage 1 differentiates 'encoder_hidden_states'. */
export async function trainStage(s: StageInput, hooks: StageHooks = {}): Promise<number[]> {
  const rng = new SeededRandom(s.seed >>> 0);
  const trainsEmbedding = s.wrt.includes('encoder_hidden_states');
  const values = new Map([...s.params].map(([k, v]) => [k, v.data]));
  const adam = new Adam(values, { lr: s.lr });
  const fixedFeeds: Record<string, ort.Tensor> = {};
  for (const [name, p] of s.params) if (name !== 'encoder_hidden_states') fixedFeeds[name] = new ort.Tensor('float32', p.data, p.dims);
  const losses: number[] = [];
  for (let step = 0; step < s.steps; step++) {
    if (hooks.isCancelled?.()) throw new ImagicCancelledError();
    const draw = drawBatch(s, rng);
    const embedding = trainsEmbedding ? s.params.get('encoder_hidden_states')! : s.embedding;
    const out = await s.session.run({
      ...fixedFeeds,
      sample: new ort.Tensor('float32', draw.sample, [s.batch, ...s.latent.dims.slice(1)]),
      timestep: timestepTensor(s.timestepType, s.timestepShape, draw.timesteps),
      encoder_hidden_states: new ort.Tensor('float32', tileRows(embedding.data, s.batch), [s.batch, ...embedding.dims.slice(1)]),
      target: new ort.Tensor('float32', draw.target, [s.batch, ...s.latent.dims.slice(1)]),
    });
    const grads = new Map<string, Float32Array>();
    for (const name of s.wrt) {
      const g = out[`grad_${name}`].data as Float32Array;
      grads.set(name, name === 'encoder_hidden_states' ? sumRows(g, s.batch) : g);
    }
    adam.step(grads);
    const loss = (out.loss.data as Float32Array)[0];
    if (!Number.isFinite(loss)) throw new Error(`Imagic training diverged at step ${step + 1} (loss ${loss}); try a smaller learning rate`);
    losses.push(loss);
    hooks.onStep?.(step + 1, s.steps, loss);
  }
  return losses;
}

/** B noisy latents, their timesteps and regression targets, from the stage's seeded generator. */
function drawBatch(s: StageInput, rng: SeededRandom): { sample: Float32Array; target: Float32Array; timesteps: number[] } {
  const x0 = s.latent.data;
  const per = x0.length;
  const T = s.alphaBar.length;
  const shared = Math.floor(rng.nextUniform() * T);
  const timesteps = Array.from({ length: s.batch }, () => (s.timestepShape === 'batch' ? Math.min(T - 1, Math.floor(rng.nextUniform() * T)) : shared));
  const sample = new Float32Array(per * s.batch);
  const target = new Float32Array(per * s.batch);
  const eps = new Float32Array(per);
  timesteps.forEach((t, b) => {
    rng.fillNormal(eps);
    const a = Math.sqrt(s.alphaBar[t]);
    const sg = Math.sqrt(1 - s.alphaBar[t]);
    for (let i = 0; i < per; i++) {
      sample[b * per + i] = a * x0[i] + sg * eps[i];
      target[b * per + i] = s.prediction === 'epsilon' ? eps[i] : s.prediction === 'v_prediction' ? a * eps[i] - sg * x0[i] : x0[i];
    }
  });
  return { sample, target, timesteps };
}

/**
 * The UNet's timestep input in its declared type and shape: one value per row ('batch'), or the first
 * value alone as [1] ('one') or a scalar ('scalar'); integer types are rounded (SD 1.x exports: int64).
 */
export function timestepTensor(type: TimestepType, shape: TimestepShape, ts: number[]): ort.Tensor {
  const values = shape === 'batch' ? ts : [ts[0]];
  const dims = shape === 'scalar' ? [] : [values.length];
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(values, (t) => BigInt(Math.round(t))), dims);
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values, Math.round), dims);
  return floatTensor(type, Float32Array.from(values), dims);
}

export function tileRows(row: Float32Array, n: number): Float32Array {
  if (n === 1) return row;
  const out = new Float32Array(row.length * n);
  for (let k = 0; k < n; k++) out.set(row, k * row.length);
  return out;
}

/** [n, ...] -> [1, ...]: the gradient of a row that was tiled n times is the sum of the n row gradients. */
function sumRows(g: Float32Array, n: number): Float32Array {
  const per = g.length / n;
  const out = new Float32Array(per);
  for (let k = 0; k < n; k++) for (let i = 0; i < per; i++) out[i] += g[k * per + i];
  return out;
}
