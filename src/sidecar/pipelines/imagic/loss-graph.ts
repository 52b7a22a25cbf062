/**
 * The training graph of Imagic's two optimisation stages, built from the model's own
 * unet/model.onnx (so any diffusers-layout UNet works, not just the embedded family):
 *
 *   inputs   sample x_t [B, C, h, w], timestep [B], encoder_hidden_states e [B, L, D],
 *            target [B, C, h, w] (eps or v, computed by the caller), and in stage 2 the trainable
 *            weights (promoted from initializers to inputs, so the caller owns and updates them)
 *   outputs  loss = mean((unet(x_t, t, e) - target)^2)       (Ho et al. 2020, eq. 14; Kawar et al. eq. 2)
 *            grad_<name> = d loss / d name for every name in `wrt`
 *
 * The gradient is the graph engine's reverse-mode autodiff (graph/autodiff.ts), standard ONNX ops only.
 */
import { loadModel, type Graph, type Tensor } from '../../graph';
import { gradients } from '../../graph/autodiff';
import type { TensorValue } from '../../graph/types';
import { numel } from '../../graph/types';
import { addLora, type LoraAdapters } from './lora';

export type TuneMode = 'embedding' | 'full' | 'lora';

export interface LossGraph {
  graph: Graph;
  /** Inputs differentiated, in output order: grad_<name> for each. */
  wrt: string[];
  /** Initial values of the trainable tensors promoted to inputs (stage 2), by name. */
  weights: Map<string, TensorValue>;
  /** LoRA adapters added (mode 'lora'). */
  lora: LoraAdapters | null;
}

/** Float32 initializers that are weights (not scalars, not builder constants), largest model first. */
export function weightNames(g: Graph): string[] {
  return [...g.initializers]
    .filter(([name, v]) => v.dtype === 'float32' && numel(v.dims) > 1 && !/^const(_\d+)?$/.test(name))
    .map(([name]) => name);
}

/** Number of float weights in a UNet file, to choose between full fine-tuning and LoRA. */
export function countParameters(unetPath: string): number {
  const g = loadModel(unetPath);
  return weightNames(g).reduce((s, n) => s + numel(g.initializers.get(n)!.dims), 0);
}

/**
 * Builds the loss-and-gradient graph for a stage: 'embedding' differentiates only
 * encoder_hidden_states (stage 1); 'full' every UNet weight, 'lora' low-rank adapters on the
 * attention and linear projections (stage 2). The UNet must be float32 (gradients of a float16
 * export are not supported; the error says so).
 */
export function buildLossGraph(unetPath: string, mode: TuneMode, loraRank = 4): LossGraph {
  const g = loadModel(unetPath);
  const out = g.outputs.includes('out_sample') ? g.tensor('out_sample') : null;
  if (!out) throw new Error(`${unetPath}: the UNet has no output named out_sample`);
  if (out.dtype !== 'float32') throw new Error(`${unetPath}: Imagic needs a float32 UNet (this one computes in ${out.dtype})`);
  g.outputs.length = 0; // the training graph returns the loss and gradients only
  const target = g.input('target', 'float32', out.shape);
  const weights = new Map<string, TensorValue>();
  let lora: LoraAdapters | null = null;
  let wrt: string[];
  if (mode === 'embedding') {
    wrt = ['encoder_hidden_states'];
  } else if (mode === 'full') {
    wrt = weightNames(g);
    for (const name of wrt) weights.set(name, g.promoteToInput(name));
  } else {
    lora = addLora(g, loraRank);
    wrt = lora.names;
    for (const name of wrt) weights.set(name, g.promoteToInput(name));
  }
  const loss = mse(g, out, target);
  g.output(loss, 'loss');
  const seed = g.constant(1, 'float32', []);
  const grads = gradients(g, { seeds: [{ output: 'loss', grad: seed }], wrt });
  for (const w of wrt) g.output(grads.get(w)!, `grad_${w}`);
  return { graph: g, wrt, weights, lora };
}

/** mean over all elements of (a - b)^2, a scalar. */
function mse(g: Graph, a: Tensor, b: Tensor): Tensor {
  const d = g.sub(a, b);
  const rank = a.shape?.length ?? 4;
  return g.reduceMean(g.mul(d, d), Array.from({ length: rank }, (_, i) => i), false);
}
