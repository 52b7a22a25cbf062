/**
 * float32 -> float16 conversion of a built graph, the way fp16 Stable Diffusion exports are made:
 * weights, float inputs and outputs and every intermediate become float16, except
 *  - the nodes listed in `keepFloat32` (e.g. the UNet's sinusoidal timestep features) and their
 *    constants, and
 *  - inputs that ONNX requires in float32 (Resize's roi and scales).
 * Intermediate types are not stored in the serialised model (only inputs and outputs), so rewriting
 * initializers, Cast targets, Constant values and the input/output infos is the whole job.
 */
import type { Graph } from '../../graph/graph';
import { ONNX_DTYPE, type TensorValue } from '../../graph/types';

export { floatToHalf as toHalfBits, halfToFloat } from '../../graph/half';
import { floatToHalf as toHalfBits } from '../../graph/half';

/** Conversions already done, by source array: graphs that share weights convert them once. */
const converted = new WeakMap<object, TensorValue>();

export function toFloat16Value(v: TensorValue): TensorValue {
  const hit = converted.get(v.data);
  if (hit) return hit;
  const half = convert(v);
  converted.set(v.data, half);
  return half;
}

function convert(v: TensorValue): TensorValue {
  const src = v.data as Float32Array;
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalfBits(src[i]);
  return { dtype: 'float16', dims: v.dims, data: out };
}

const FLOAT32_ONLY_INPUTS: Record<string, number[]> = { Resize: [1, 2] };

/** Converts `g` in place; returns the number of converted initializers. */
export function convertToFloat16(g: Graph, keepFloat32: ReadonlySet<string> = new Set()): number {
  const keepInit = new Set<string>();
  const halfInit = new Set<string>();
  for (const n of g.nodes) {
    const only32 = FLOAT32_ONLY_INPUTS[n.op] ?? [];
    n.inputs.forEach((name, i) => {
      if (keepFloat32.has(n.name) || only32.includes(i)) keepInit.add(name);
      else halfInit.add(name);
    });
    if (keepFloat32.has(n.name)) continue;
    if (n.op === 'Cast' && n.attrs.to === ONNX_DTYPE.float32) n.attrs.to = ONNX_DTYPE.float16;
    const value = n.attrs.value;
    if (n.op === 'Constant' && value && typeof value === 'object' && 'dtype' in value && value.dtype === 'float32') n.attrs.value = toFloat16Value(value);
  }
  let count = 0;
  for (const [name, v] of g.initializers) {
    if (v.dtype !== 'float32' || !halfInit.has(name)) continue;
    if (keepInit.has(name)) throw new Error(`initializer ${name} is used both in float32 and in float16 parts of the graph`);
    g.initializers.set(name, toFloat16Value(v));
    count++;
  }
  for (const name of [...g.inputs, ...g.outputs]) {
    const info = g.info.get(name);
    if (info?.dtype === 'float32') g.info.set(name, { ...info, dtype: 'float16' });
  }
  return count;
}
