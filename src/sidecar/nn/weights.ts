/**
 * Moving trained weights in and out of the model graphs by parameter name. Safetensors files hold the
 * graphs' own layout (linear weights [in, out]); names are the dotted paths the builder gives
 * (`blocks.0.attn.q.weight`).
 */
import { loadModel, type Graph } from '../graph';
import type { TensorValue } from '../graph/types';

/**
 * Replace every trainable parameter of `g` by the tensor of the same name; names and shapes must match.
 * With `allowMissing`, parameters the weights lack keep their initial values (layers added to a trained
 * model).
 */
export function applyWeights(g: Graph, weights: Map<string, TensorValue>, what = 'model', o: { allowMissing?: boolean } = {}): void {
  for (const name of g.trainable) {
    const w = weights.get(name);
    const cur = g.initializers.get(name);
    if (!w && o.allowMissing) continue;
    if (!w) throw new Error(`${what}: no weight named ${name} (have ${weights.size} tensors)`);
    if (!cur || cur.dims.join() !== w.dims.join()) {
      throw new Error(`${what}: ${name} has shape [${w.dims}], the graph wants [${cur?.dims}]`);
    }
    if (w.dtype !== 'float32') throw new Error(`${what}: ${name} is ${w.dtype}, expected float32`);
    g.initializers.set(name, { dtype: 'float32', dims: [...w.dims], data: w.data });
  }
}

/** The trainable parameters of `g`, by name (views, not copies). */
export function graphWeights(g: Graph): Map<string, TensorValue> {
  const out = new Map<string, TensorValue>();
  for (const name of g.trainable) {
    const v = g.initializers.get(name);
    if (!v) throw new Error(`parameter ${name} has no value`);
    out.set(name, v);
  }
  return out;
}

/** Number of trainable scalars. */
export function parameterCount(g: Graph): number {
  let n = 0;
  for (const v of graphWeights(g).values()) n += v.data.length;
  return n;
}

/**
 * The float32 initializers of an ONNX file by name: a family's component as written by
 * writeFamilyFolder carries its parameters under the builder's own names, so these apply to a freshly
 * built graph of the same component (applyWeights) to fine-tune it.
 */
export function readOnnxWeights(path: string): Map<string, TensorValue> {
  const out = new Map<string, TensorValue>();
  for (const [k, v] of loadModel(path).initializers) if (v.dtype === 'float32') out.set(k, v);
  return out;
}
