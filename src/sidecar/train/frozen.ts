/**
 * Where a training step keeps the weights it does not train (the memory plan's first part). A LoRA
 * step on a Stable Diffusion UNet trains ~1 M adapter values and freezes 860 M weights (3.4 GB):
 *
 * - 'initializers': frozen weights stay initializers of the step graph. ORT may constant-fold and
 *   prepack them (fastest for small models), but it then holds its own copy, and the graph is one
 *   protobuf message, which cannot exceed 2 GB.
 * - 'inputs': frozen weights of at least FROZEN_INPUT_MIN_BYTES become graph inputs, fed every step
 *   from the one copy the trainer holds (ORT reads input tensors in place: no copy, no temporary
 *   file, a step graph of a few MB whatever the model's size).
 * - 'inputs-fp16': the same, stored as float16 (half the memory) and cast to float32 right before each
 *   use; the backward pass casts again instead of keeping the forward's float32 copy alive until it
 *   needs it (recomputation: a cast is cheap next to the convolution it feeds). Compute stays float32;
 *   the weights are rounded to float16 once (as every fp16 Stable Diffusion export is).
 *
 * Gradients are only ever taken for the trained parameters (train-step.ts differentiates w.r.t. the
 * flat `params` input alone), so nothing here gets a gradient or optimiser state.
 */
import type { Graph } from '../graph/graph';
import { floatToHalf } from '../graph/half';
import type { TensorValue } from '../graph/types';

export type FrozenPlacement = 'initializers' | 'inputs' | 'inputs-fp16';

/** Smaller frozen tensors (norm scales, biases, shape constants) stay initializers: they cost nothing. */
export const FROZEN_INPUT_MIN_BYTES = 1 << 16;
/** 'auto' feeds frozen weights as inputs from this many bytes on (well under protobuf's 2 GB). */
export const FROZEN_INPUTS_AUTO_BYTES = 1e9;

const bytesOf = (v: TensorValue) => v.data.byteLength;

/** Frozen float tensors worth moving out of the graph. */
function bigFrozen(g: Graph, trained: ReadonlySet<string>): string[] {
  return [...g.initializers].filter(([n, v]) => !trained.has(n) && v.dtype === 'float32' && bytesOf(v) >= FROZEN_INPUT_MIN_BYTES).map(([n]) => n);
}

/** What 'auto' means for this graph: inputs when the frozen weights are large. */
export function choosePlacement(g: Graph, trained: ReadonlySet<string>, asked: FrozenPlacement | 'auto' = 'auto'): FrozenPlacement {
  if (asked !== 'auto') return asked;
  const bytes = bigFrozen(g, trained).reduce((s, n) => s + bytesOf(g.initializers.get(n)!), 0);
  return bytes >= FROZEN_INPUTS_AUTO_BYTES ? 'inputs' : 'initializers';
}

/**
 * Before differentiating ('inputs-fp16'): each big frozen float32 weight W becomes a float16 initializer
 * `W.fp16` and a Cast to float32 named W, placed right before W's first user (so the float32 copy
 * lives only while the forward needs it). Returns W -> W.fp16.
 */
export function halveFrozen(g: Graph, trained: ReadonlySet<string>): Map<string, string> {
  const halves = new Map<string, string>();
  for (const name of bigFrozen(g, trained)) {
    const v = g.initializers.get(name)!;
    const src = v.data as Float32Array, bits = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) bits[i] = floatToHalf(src[i]);
    g.initializers.delete(name);
    g.info.delete(name);
    const half = g.initializer(`${name}.fp16`, { dtype: 'float16', dims: v.dims, data: bits });
    g.node('Cast', [half], { to: 1 }, { names: [name] });
    halves.set(name, half.name);
  }
  placeBeforeFirstUse(g, g.nodes.length - halves.size);
  return halves;
}

/** Moves the nodes from index `from` on (just appended) each to right before the first node that reads its output. */
function placeBeforeFirstUse(g: Graph, from: number): void {
  const moved = g.nodes.splice(from);
  for (const node of moved) {
    const at = g.nodes.findIndex((n) => n.inputs.includes(node.outputs[0]));
    g.nodes.splice(at < 0 ? g.nodes.length : at, 0, node);
  }
}

/**
 * After differentiating: backward nodes (index >= `from`) that read a cast weight read a fresh cast
 * instead, made right before its first backward user, so no float32 weight is kept from the forward
 * pass to the backward one. ORT's common-subexpression elimination merges nodes with the same op,
 * inputs and attributes, which would undo this: from opset 19 the recast states Cast's `saturate`
 * attribute (its default, meaningful for float8 targets only) to differ from the forward's Cast.
 */
export function recastInBackward(g: Graph, from: number, halves: ReadonlyMap<string, string>): void {
  const recast = new Map<string, string>();
  const start = g.nodes.length;
  for (let i = from; i < start; i++) {
    const n = g.nodes[i];
    n.inputs = n.inputs.map((x) => {
      const half = halves.get(x);
      if (!half) return x;
      let y = recast.get(x);
      const attrs: Record<string, number> = g.opset >= 19 ? { to: 1, saturate: 1 } : { to: 1 };
      if (!y) recast.set(x, (y = g.node('Cast', [g.tensor(half)], attrs, { names: [g.fresh(`${x}.recast`)] })[0].name));
      return y;
    });
  }
  placeBeforeFirstUse(g, start);
}

/** Big frozen initializers (float32 or their float16 halves) become graph inputs; returns their values, to feed. */
export function frozenAsInputs(g: Graph, trained: ReadonlySet<string>): Map<string, TensorValue> {
  const frozen = new Map<string, TensorValue>();
  const used = new Set(g.nodes.flatMap((n) => n.inputs)); // an unused one is dropped on save: nothing to feed
  for (const [name, v] of g.initializers) {
    // a float16 half is fed when its float32 original would have been (same element count)
    const fp32Bytes = v.dtype === 'float16' ? 2 * bytesOf(v) : bytesOf(v);
    if (trained.has(name) || (v.dtype !== 'float32' && v.dtype !== 'float16') || fp32Bytes < FROZEN_INPUT_MIN_BYTES || g.inputs.includes(name) || !used.has(name)) continue;
    g.inputs.push(name); // toModelProto writes it as an input and not as an initializer
    frozen.set(name, v);
  }
  return frozen;
}
