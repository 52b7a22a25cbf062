/**
 * Exchanging the SD 1.5 UNet's weights with PyTorch (scripts/gpu/torch_unet.py) through safetensors
 * (format: u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, raw
 * little-endian data). Written with diffusers' names and layouts, so PyTorch loads them with
 * strict=True: Linear weights, [in, out] in our graphs (x @ W), are transposed to PyTorch's [out, in].
 * In this architecture every 2-D parameter is a Linear weight, and only those.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Graph } from '../../graph/graph';
import type { TensorValue } from '../../graph/types';

const ST_DTYPE: Record<string, string> = { float32: 'F32', float16: 'F16', int64: 'I64', float64: 'F64' };
const FROM_ST: Record<string, TensorValue['dtype']> = { F32: 'float32', F16: 'float16', I64: 'int64', F64: 'float64' };

/** Writes named tensors as one safetensors file, streaming the data (the full UNet is 3.4 GB). */
export function writeSafetensors(path: string, tensors: Iterable<[string, TensorValue]>): void {
  const list = [...tensors];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, v] of list) {
    const dtype = ST_DTYPE[v.dtype];
    if (!dtype) throw new Error(`safetensors: ${name} has unsupported type ${v.dtype}`);
    header[name] = { dtype, shape: v.dims, data_offsets: [offset, offset + v.data.byteLength] };
    offset += v.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    for (const [, v] of list) writeSync(fd, new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  } finally {
    closeSync(fd);
  }
}

export function readSafetensors(path: string): Map<string, TensorValue> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, TensorValue>();
  for (const [name, m] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = buf.subarray(8 + n + m.data_offsets[0], 8 + n + m.data_offsets[1]);
    const copy = new Uint8Array(bytes).buffer; // aligned copy
    const dtype = FROM_ST[m.dtype];
    if (!dtype) throw new Error(`safetensors: ${name} has unsupported type ${m.dtype}`);
    const data = dtype === 'float32' ? new Float32Array(copy) : dtype === 'float16' ? new Uint16Array(copy) : dtype === 'int64' ? new BigInt64Array(copy) : new Float64Array(copy);
    out.set(name, { dtype, dims: m.shape, data });
  }
  return out;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(v: TensorValue): TensorValue {
  const [r, c] = v.dims;
  const src = v.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
  return { dtype: v.dtype, dims: [c, r], data: out };
}

/** The trainable parameters of a float32 UNet graph, in PyTorch's layout, as diffusers names them. */
export function* torchStateDict(g: Graph): Generator<[string, TensorValue]> {
  for (const name of g.trainable) {
    const v = g.initializers.get(name);
    if (!v) throw new Error(`parameter ${name} has no value`);
    if (v.dtype !== 'float32') throw new Error(`export the weights before converting the graph to fp16 (${name} is ${v.dtype})`);
    yield [name, v.dims.length === 2 ? transpose2d(v) : v];
  }
}
