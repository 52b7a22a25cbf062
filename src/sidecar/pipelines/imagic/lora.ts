/**
 * Low-rank adapters (LoRA, Hu et al. 2021, eq. 3) on an imported UNet: every MatMul whose right
 * operand is a 2-D float32 weight W [in, out] (attention q/k/v/out and feed-forward projections in a
 * diffusers export) becomes
 *
 *   y = x W + (alpha / r) * (x A) B,     A [in, r] ~ N(0, 1/in),  B [r, out] = 0
 *
 * so the adapted model starts exactly at the original one and only A and B (r (in + out) numbers per
 * layer) are trained. Used by Imagic's stage 2 on large models, where training every weight costs too
 * much memory and time.
 */
import { init, type Graph } from '../../graph';
import type { Node } from '../../graph/types';

export interface LoraAdapters {
  /** Names of the adapter initializers (A and B of each adapted layer), in order. */
  names: string[];
  /** The weights adapted: W name -> [A name, B name]. */
  layers: Map<string, [string, string]>;
  rank: number;
}

/** Rewrites `g` in place (new nodes inserted right after each adapted MatMul, keeping the order topological). */
export function addLora(g: Graph, rank: number, alpha = rank): LoraAdapters {
  const layers = new Map<string, [string, string]>();
  const targets = g.nodes.filter((n) => n.op === 'MatMul' && isWeight(g, n.inputs[1]));
  for (const node of targets) {
    const wName = node.inputs[1];
    if (layers.has(wName)) continue; // a weight used twice is adapted once (its first use)
    const [inDim, outDim] = g.initializers.get(wName)!.dims;
    const y = node.outputs[0];
    const info = g.tensor(y);
    const base = g.fresh(`${y}_base`);
    node.outputs[0] = base;
    g.info.delete(y);
    g.define(base, { dtype: info.dtype, shape: info.shape });
    const start = g.nodes.length;
    const a = g.param(`${wName}.lora_A`, [inDim, rank], init.normal(1 / Math.sqrt(inDim)));
    const b = g.param(`${wName}.lora_B`, [rank, outDim], init.zeros());
    const delta = g.mul(g.matmul(g.matmul(g.tensor(node.inputs[0]), a), b), alpha / rank);
    g.node('Add', [g.tensor(base), delta], {}, { names: [y] });
    const added = g.nodes.splice(start);
    g.nodes.splice(g.nodes.indexOf(node) + 1, 0, ...added);
    layers.set(wName, [a.name, b.name]);
  }
  if (!layers.size) throw new Error('the UNet has no MatMul with a weight matrix to adapt with LoRA');
  return { names: [...layers.values()].flat(), layers, rank };
}

function isWeight(g: Graph, name: string): boolean {
  const v = g.initializers.get(name);
  return !!v && v.dtype === 'float32' && v.dims.length === 2;
}

/** Nodes consuming `name` (for tests and diagnostics). */
export function consumers(g: Graph, name: string): Node[] {
  return g.nodes.filter((n) => n.inputs.includes(name));
}
