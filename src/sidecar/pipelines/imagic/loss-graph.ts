/**
 * The training-step graphs of Imagic's two optimisation stages, built from the model's own
 * unet/model.onnx (so any diffusers-layout UNet with a float32 export works, not just the embedded
 * family) with the graph engine's pieces: autodiff, the MSE loss, Adam, LoRA (train/train-step.ts,
 * train/lora.ts). Data inputs each step:
 *
 *   sample x_t [B, C, h, w], timestep [B], target [B, C, h, w] (eps or v, computed by the caller),
 *   and in stage 2 encoder_hidden_states [B, L, D] (the frozen e_opt, tiled)
 *
 * loss = mean((unet(x_t, t, e) - target)^2)       (Ho et al. 2020, eq. 14; Kawar et al. 2023, section 3)
 *
 * Stage 1 ('embedding') turns encoder_hidden_states into one trained parameter e [1, L, D], expanded
 * to the batch inside the graph; stage 2 trains every UNet weight ('full') or LoRA adapters ('lora').
 */
import { countWeights, loadModel, weightNames, type Graph } from '../../graph';
import { buildTrainStep, injectLora, mseLoss, type LoraSite, type TrainStep } from '../../train';
import type { FrozenPlacement } from '../../train/frozen';
import type { TensorValue } from '../../graph/types';

export type TuneMode = 'embedding' | 'full' | 'lora';

/** The trained embedding's parameter name in the stage-1 graph. */
export const EMBEDDING = 'imagic.embedding';

export interface StageGraph {
  step: TrainStep;
  /** LoRA sites (mode 'lora'), needed to merge the adapters into the weights. */
  lora: LoraSite[];
}

export interface StageGraphOptions {
  mode: TuneMode;
  lr: number;
  /** Rows per step (noise draws). */
  batch: number;
  /** Stage 1: the embedding to start from, e_target [1, L, D]. */
  embedding?: TensorValue;
  loraRank?: number;
  /** Where the frozen weights live in the step (train/frozen.ts; default: inputs for large UNets). */
  frozen?: FrozenPlacement | 'auto';
}

/** Number of float weights in a UNet file, to choose between full fine-tuning and LoRA. */
export function countParameters(unetPath: string): number {
  return countWeights(unetPath);
}

/** `unet`: the UNet's ONNX file, or a graph already loaded or built (it is rewritten in place). */
export function buildStageGraph(unet: string | Graph, o: StageGraphOptions): StageGraph {
  const g = typeof unet === 'string' ? loadModel(unet) : unet;
  const unetPath = typeof unet === 'string' ? unet : g.name;
  const out = g.outputs.includes('out_sample') ? g.tensor('out_sample') : null;
  if (!out) throw new Error(`${unetPath}: the UNet has no output named out_sample`);
  if (out.dtype !== 'float32') throw new Error(`${unetPath}: Imagic trains float32 UNets only (this one computes in ${out.dtype})`);
  g.outputs.length = 0; // the step graph returns the loss and the new state only
  const target = g.input('target', 'float32', out.shape);
  let params: string[];
  let lora: LoraSite[] = [];
  if (o.mode === 'embedding') {
    if (!o.embedding) throw new Error('stage 1 needs the starting embedding');
    embeddingAsParameter(g, o.embedding, o.batch);
    params = [EMBEDDING];
  } else if (o.mode === 'full') {
    params = weightNames(g);
  } else {
    lora = injectLora(g, { rank: o.loraRank ?? 4, targets: () => true });
    params = lora.flatMap((s) => [s.a, s.b]);
  }
  const step = buildTrainStep(g, { loss: mseLoss(g, out, target), optimizer: { type: 'adam', lr: o.lr }, params, frozen: o.frozen });
  return { step, lora };
}

/**
 * Replaces the UNet's encoder_hidden_states input by a parameter e [1, L, D] expanded to [batch, L, D]:
 * the gradient of the tiled rows sums into the one embedding inside the graph.
 */
function embeddingAsParameter(g: Graph, e: TensorValue, batch: number): void {
  const name = 'encoder_hidden_states';
  const at = g.inputs.indexOf(name);
  if (at < 0) throw new Error(`the UNet has no input ${name}`);
  g.inputs.splice(at, 1);
  g.info.delete(name);
  const p = g.initializer(EMBEDDING, e);
  g.trainable.add(EMBEDDING);
  const start = g.nodes.length;
  g.node('Expand', [p, g.constant([batch, e.dims[1], e.dims[2]], 'int64')], {}, { names: [name] });
  g.nodes.unshift(...g.nodes.splice(start)); // defined before the UNet's first use
}
