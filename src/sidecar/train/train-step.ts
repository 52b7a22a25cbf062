/**
 * One ONNX graph per training step: forward, loss, backward, clipping, optimiser update, EMA.
 * The trained parameters travel as ONE flat float32 vector `params` (Split + Reshape at the top of the
 * graph rebuild the named tensors), so the backward ends in a single Concat and the optimiser is a
 * handful of elementwise nodes whatever the number of parameter tensors. Each run returns the new
 * vector and optimiser state, which the trainer feeds straight back in.
 */
import type { Graph, Tensor } from '../graph/graph';
import { gradients } from '../graph/autodiff';
import { clipGlobalNorm, emaUpdate, learningRate, optimizerUpdate, stateSlots, type Optimizer } from './optim';
import { numel, type TensorValue } from '../graph/types';
import { choosePlacement, frozenAsInputs, halveFrozen, recastInBackward, type FrozenPlacement } from './frozen';

export interface TrainStepOptions {
  /** Scalar loss computed in the graph. */
  loss: Tensor;
  optimizer: Optimizer;
  /** Parameters to train (default: every `g.param`); the others stay frozen initializers. */
  params?: string[];
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
  /** Keep an exponential moving average of the parameters with this decay (e.g. 0.999). */
  emaDecay?: number;
  /** More graph values to return each step (e.g. a prediction for logging). */
  extraOutputs?: Tensor[];
  /**
   * Where the weights that do not train live (train/frozen.ts): 'auto' (default) feeds them as inputs
   * once they pass 1 GB, so a Stable Diffusion step graph is never one >2 GB protobuf.
   */
  frozen?: FrozenPlacement | 'auto';
}

/** A state tensor carried from one step to the next: fed as `input`, returned as `output`. */
export interface StateSlot {
  input: string;
  output: string;
  init: Float32Array;
}

export interface ParamLayout {
  name: string;
  dims: number[];
  offset: number;
  size: number;
}

export interface TrainStep {
  graph: Graph;
  /** Where each named parameter lives in the flat vector. */
  layout: ParamLayout[];
  /** params first, then optimiser slots, then the EMA if any. */
  state: StateSlot[];
  /** Inputs the caller feeds each step (the batch), besides the state and `step`. */
  dataInputs: string[];
  /** Scalar outputs: 'loss', 'lr', and 'grad_norm' when clipping. */
  outputs: string[];
  /** Nodes of the forward pass (and the loss): the backward and the optimiser follow them. */
  forwardNodes: number;
  /** How the frozen weights were placed, and the ones fed as inputs every step (by input name). */
  placement: FrozenPlacement;
  frozen: Map<string, TensorValue>;
}

export const STEP_INPUT = 'step';

/** Rewrites `g` (built with its loss) into a training-step graph. */
export function buildTrainStep(g: Graph, o: TrainStepOptions): TrainStep {
  const names = [...new Set(o.params ?? g.trainable)]; // a name listed twice is one parameter
  if (!names.length) throw new Error('buildTrainStep: no parameters to train');
  if (o.loss.shape && o.loss.shape.some((d) => d !== 1)) throw new Error(`buildTrainStep: loss must be a scalar, got shape [${o.loss.shape}]`);
  const dataInputs = [...g.inputs];
  const trained = new Set(names);
  const placement = choosePlacement(g, trained, o.frozen);
  const halves = placement === 'inputs-fp16' ? halveFrozen(g, trained) : new Map<string, string>();
  const { flat, layout, init } = flattenParams(g, names);
  const t = g.input(STEP_INPUT, 'float32', []);
  const forwardEnd = g.nodes.length;

  const grads = gradients(g, { seeds: [{ output: o.loss.name, grad: g.constant(1, 'float32', (o.loss.shape ?? []) as number[]) }], wrt: [flat.name] });
  let grad = grads.get(flat.name)!;
  const outputs = ['loss'];
  g.output(o.loss, 'loss');
  if (o.clipNorm) {
    const c = clipGlobalNorm(g, grad, o.clipNorm);
    grad = c.grad;
    g.output(c.norm, 'grad_norm');
    outputs.push('grad_norm');
  }
  const slots = stateSlots(o.optimizer);
  const slotIn = slots.map((s) => g.input(s, 'float32', [init.length]));
  const upd = optimizerUpdate(g, o.optimizer, flat, grad, slotIn, t);
  const state: StateSlot[] = [{ input: flat.name, output: 'new_params', init }];
  g.output(upd.params, 'new_params');
  slots.forEach((s, i) => {
    g.output(upd.state[i], `new_${s}`);
    state.push({ input: s, output: `new_${s}`, init: new Float32Array(init.length) });
  });
  if (o.emaDecay !== undefined) {
    const ema = g.input('ema', 'float32', [init.length]);
    g.output(emaUpdate(g, ema, upd.params, o.emaDecay), 'new_ema');
    state.push({ input: 'ema', output: 'new_ema', init: init.slice() });
  }
  g.output(g.identity(learningRate(g, o.optimizer.lr, t)), 'lr');
  outputs.push('lr');
  for (const x of o.extraOutputs ?? []) {
    g.output(x);
    outputs.push(x.name);
  }
  if (halves.size) recastInBackward(g, forwardEnd, halves);
  const frozen = placement === 'initializers' ? new Map<string, TensorValue>() : frozenAsInputs(g, trained);
  return { graph: g, layout, state, dataInputs, outputs, forwardNodes: forwardEnd, placement, frozen };
}

/** Replaces the named initializers with Split + Reshape of one flat input `params`. */
function flattenParams(g: Graph, names: string[]): { flat: Tensor; layout: ParamLayout[]; init: Float32Array } {
  const layout: ParamLayout[] = [];
  let offset = 0;
  const values: TensorValue[] = names.map((n) => {
    const v = g.initializers.get(n);
    if (!v) throw new Error(`buildTrainStep: ${n} is not an initializer of the graph`);
    if (v.dtype !== 'float32') throw new Error(`buildTrainStep: ${n} is ${v.dtype}; only float32 parameters train`);
    layout.push({ name: n, dims: [...v.dims], offset, size: numel(v.dims) });
    offset += numel(v.dims);
    return v;
  });
  const init = new Float32Array(offset);
  values.forEach((v, i) => init.set(v.data as Float32Array, layout[i].offset));
  for (const n of names) {
    g.initializers.delete(n);
    g.info.delete(n);
  }
  const flat = g.input('params', 'float32', [offset]);
  const start = g.nodes.length;
  const parts = g.node('Split', [flat, g.constant(layout.map((l) => l.size), 'int64')], { axis: 0 }, { outputs: names.length });
  parts.forEach((p, i) => g.node('Reshape', [p, g.constant(layout[i].dims, 'int64')], {}, { names: [names[i]] }));
  g.nodes.unshift(...g.nodes.splice(start)); // the rebuilt parameters must precede their users
  return { flat, layout, init };
}

/** Named parameter tensors from a flat vector (views, no copy). */
export function unflatten(layout: ParamLayout[], flat: Float32Array): Map<string, TensorValue> {
  return new Map(layout.map((l) => [l.name, { dtype: 'float32', dims: l.dims, data: flat.subarray(l.offset, l.offset + l.size) }]));
}
