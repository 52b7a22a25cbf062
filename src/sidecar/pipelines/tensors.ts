/**
 * Small tensor helpers for the pipelines: float16 <-> float32 (Node 20 has no Float16Array, so ONNX
 * Runtime takes float16 as the raw Uint16Array bits), and building inputs in whatever dtype a model
 * declares.
 */
import * as ort from 'onnxruntime-node';

export type FloatType = 'float32' | 'float16';

export { floatToHalf, halfToFloat } from '../graph/half';
import { floatToHalf, halfToFloat } from '../graph/half';

/** A float tensor of the model's declared type from float32 data. */
export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (type === 'float32') return new ort.Tensor('float32', data, dims);
  return new ort.Tensor('float16', Uint16Array.from(data, floatToHalf), dims);
}

/** A float tensor's values as float32 (copying only when the tensor is float16). */
export function readFloats(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const d = t.data as ArrayLike<number>;
    // ORT gives the raw bits as Uint16Array; a Float16Array (newer runtimes) already holds numbers.
    return d instanceof Uint16Array ? Float32Array.from(d, halfToFloat) : Float32Array.from(d);
  }
  throw new Error(`expected a float tensor, got ${t.type}`);
}

/** The arrays end to end (batches of rows gathered into one). */
export function concatFloats(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => { out.set(p, at); return at + p.length; }, 0);
  return out;
}

/** `data` repeated `times` times, end to end (a batch of identical rows). */
export function tile(data: Float32Array, times: number): Float32Array {
  const out = new Float32Array(data.length * times);
  for (let k = 0; k < times; k++) out.set(data, k * data.length);
  return out;
}
