/**
 * One optimisation stage of Imagic (Kawar et al. 2023, section 3): the denoising loss of the input
 * image's latent x0 at random timesteps with seeded noise, minimised with Adam over either the text
 * embedding (stage 1, model frozen) or the UNet's weights / LoRA adapters (stage 2, embedding frozen).
 * The step graph (forward, loss, backward, Adam) is the engine's; this file draws the data.
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
import { predictionTarget } from '../../schedulers/prediction';
import type { TrainStep } from '../../train';
import type { TensorValue } from '../../graph/types';
import { Trainer } from '../../train/trainer';
import { timestepTensor } from '../core/unet-feeds';
import { tile } from '../tensors';
import type { UnetSignature } from '../model-sessions';

type TimestepType = UnetSignature['timestepType'];
type TimestepShape = UnetSignature['timestepShape'];

export class ImagicCancelledError extends Error {
  constructor() {
    super('edit cancelled');
    this.name = 'ImagicCancelledError';
  }
}

export interface StageInput {
  /** The stage's training step (loss-graph.ts), run by the engine's Trainer. */
  step: TrainStep;
  /** Stage 2: the frozen embedding e_opt [1, L, D], tiled to the batch each step. Stage 1 trains it inside the graph. */
  embedding: { data: Float32Array; dims: number[] } | null;
  /** The image latent x0 [1, C, h, w], already scaled by the VAE's scaling factor. */
  latent: { data: Float32Array; dims: number[] };
  alphaBar: Float64Array;
  prediction: PredictionType;
  timestepType: TimestepType;
  /** How the UNet takes its timestep: one per batch row, or one value shared by the batch. */
  timestepShape: TimestepShape;
  steps: number;
  batch: number;
  seed: number;
  executionProviders?: readonly string[];
  /** Names the stage in a refusal for lack of memory ("Imagic stage 2 (LoRA rank 4)"). */
  what?: string;
}

export interface StageHooks {
  onStep?(step: number, total: number, loss: number): void;
  isCancelled?(): boolean;
}

/** Runs the stage; returns the trained parameters by name and the loss of every step. */
export async function trainStage(s: StageInput, hooks: StageHooks = {}): Promise<{ params: Map<string, TensorValue>; losses: number[] }> {
  const rng = new SeededRandom(s.seed >>> 0);
  const trainer = await Trainer.create(s.step, {
    providers: [...(s.executionProviders ?? ['cpu'])],
    memory: { what: s.what ?? 'this Imagic stage', dims: { batch: s.batch }, hint: 'use fewer noise draws per step, LoRA instead of full fine-tuning, or a machine with more memory' },
  });
  const dims = [s.batch, ...s.latent.dims.slice(1)];
  const context: Record<string, ort.Tensor> = s.embedding
    ? { encoder_hidden_states: new ort.Tensor('float32', tile(s.embedding.data, s.batch), [s.batch, ...s.embedding.dims.slice(1)]) }
    : {};
  const losses: number[] = [];
  try {
    for (let step = 0; step < s.steps; step++) {
      if (hooks.isCancelled?.()) throw new ImagicCancelledError();
      const draw = drawBatch(s, rng);
      const r = await trainer.trainStep({
        ...context,
        sample: new ort.Tensor('float32', draw.sample, dims),
        timestep: timestepTensor(s.timestepType, s.timestepShape, draw.timesteps),
        target: new ort.Tensor('float32', draw.target, dims),
      });
      losses.push(r.loss);
      hooks.onStep?.(step + 1, s.steps, r.loss);
    }
    // Copies: the trainer's state tensors go away with its session.
    const params = new Map([...trainer.params()].map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).slice() }]));
    return { params, losses };
  } finally {
    await trainer.dispose();
  }
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
    const l = { alpha: Math.sqrt(s.alphaBar[t]), sigma: Math.sqrt(1 - s.alphaBar[t]) };
    for (let i = 0; i < per; i++) {
      sample[b * per + i] = l.alpha * x0[i] + l.sigma * eps[i];
      target[b * per + i] = predictionTarget(s.prediction, x0[i], eps[i], l);
    }
  });
  return { sample, target, timesteps };
}
