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

/** IEEE 754 binary16 bits of a number (round to nearest even; overflow to infinity). */
export function toHalfBits(v: number): number {
  F32[0] = v;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflow to signed zero
    mant |= 0x800000; // subnormal half: shift the implicit bit in
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

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
