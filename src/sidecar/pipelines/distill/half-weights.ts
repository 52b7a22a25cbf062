/**
 * Weight-only float16 storage: every float32 weight of a graph is stored as float16 and turned back
 * into float32 by a Cast at load. ONNX Runtime folds those Casts into float32 constants when the
 * session opens, so the model runs exactly as a float32 model with weights rounded to float16
 * (relative error <= 2^-11): half the file size, the same speed, no float16 kernels needed on the CPU.
 * The shipped students use it to stay within the extension's size budget.
 */
import type { Graph } from '../../graph';
import { toFloat16Value } from '../../nn/sd15/fp16';

/** Rewrites `g` in place; weights smaller than `minElements` stay float32. Returns the number converted. */
export function storeWeightsAsHalf(g: Graph, minElements = 16): number {
  const names = [...g.initializers].filter(([, v]) => v.dtype === 'float32' && v.data.length >= minElements).map(([n]) => n);
  const casts = [];
  for (const name of names) {
    const half = `${name}.fp16`;
    const v = toFloat16Value(g.initializers.get(name)!);
    g.initializers.delete(name);
    g.info.delete(name);
    g.initializer(half, v);
    casts.push({ op: 'Cast', domain: '', name: g.fresh(`cast_${name}`), inputs: [half], outputs: [name], attrs: { to: 1 } });
    g.define(name, { dtype: 'float32', shape: [...v.dims] });
  }
  g.nodes.unshift(...casts);
  return names.length;
}
