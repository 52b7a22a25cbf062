/**
 * Core types of the graph engine: element types, shapes (with symbolic dimensions), tensor values,
 * and the intermediate representation (IR) that the builder writes, the importer reads into, and the
 * autodiff rewrites.
 */

/** Element types, named as onnxruntime-common names them. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11,
};
export function dtypeFromOnnx(code: number): DType {
  for (const [k, v] of Object.entries(ONNX_DTYPE)) if (v === code) return k as DType;
  throw new Error(`unsupported ONNX element type ${code}`);
}
export const isFloat = (t: DType): boolean => t === 'float32' || t === 'float64' || t === 'float16';

/** A dimension: a size, a symbolic name (dynamic, e.g. 'batch'), or null (unknown). */
export type Dim = number | string | null;
/** A shape; null when even the rank is unknown (only in imported graphs). */
export type Shape = Dim[] | null;

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/** A concrete tensor value (initializers, constants, checkpoints). */
export interface TensorValue {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

export type AttrValue = number | string | number[] | string[] | TensorValue | { float: number } | { floats: number[] } | { raw: unknown };

/** One ONNX node in the IR. Attribute numbers are INT unless wrapped as {float}/{floats}. */
export interface Node {
  op: string;
  domain: string;
  name: string;
  inputs: string[]; // '' marks an omitted optional input
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** Static information about one value in the graph. */
export interface ValueInfo {
  dtype: DType;
  shape: Shape;
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': return new Uint16Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
  }
}

/** A tensor value from plain numbers. */
export function tensorValue(dtype: DType, dims: number[], values: ArrayLike<number>): TensorValue {
  const data = allocate(dtype, numel(dims));
  if (values.length !== data.length) throw new Error(`tensor of shape [${dims}] needs ${data.length} values, got ${values.length}`);
  if (data instanceof BigInt64Array) for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i]));
  else (data as Float32Array).set(values);
  return { dtype, dims, data };
}

/** Reads a value's elements as JS numbers (for small int tensors: shapes, axes, pads). */
export function toNumbers(v: TensorValue): number[] {
  return Array.from(v.data as ArrayLike<number | bigint>, Number);
}

export const shapeStr = (s: Shape): string => (s === null ? '(unknown)' : `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]`);
