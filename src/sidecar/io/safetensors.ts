/**
 * safetensors (huggingface/safetensors format): 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}), then the raw
 * little-endian tensor bytes. Small and dependency-free; writes are atomic (temp, fsync, rename).
 */
import { readFileSync } from 'node:fs';
import { writeAtomic } from './atomic';
import { allocate, numel, type DType, type TensorValue } from '../graph/types';

const TO_ST: Partial<Record<DType, string>> = { float32: 'F32', float64: 'F64', float16: 'F16', int64: 'I64', int32: 'I32', int8: 'I8', uint8: 'U8', bool: 'BOOL' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

export interface SafeTensors {
  tensors: Map<string, TensorValue>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: Map<string, TensorValue>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const bodies: Uint8Array[] = [];
  for (const [name, v] of tensors) {
    const b = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    header[name] = { dtype: TO_ST[v.dtype], shape: v.dims, data_offsets: [offset, offset + b.byteLength] };
    offset += b.byteLength;
    bodies.push(b);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keep the data 8-byte aligned
  const jb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jb.byteLength));
  return [len, jb, ...bodies];
}

/** Writes atomically: a crash leaves the previous file or the new one, never a torn one. */
export function writeSafetensors(path: string, tensors: Map<string, TensorValue>, metadata: Record<string, string> = {}): void {
  writeAtomic(path, encodeSafetensors(tensors, metadata));
}

export function decodeSafetensors(buf: Uint8Array, what = 'safetensors data'): SafeTensors {
  const bad = (msg: string): never => {
    throw new Error(`${what}: not a valid safetensors file (${msg})`);
  };
  if (buf.byteLength < 8) bad('shorter than its header length');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > buf.byteLength) bad(`header of ${n} bytes runs past the end`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(buf.subarray(8, 8 + n)).toString('utf8'));
  } catch {
    return bad('header is not JSON');
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const tensors = new Map<string, TensorValue>();
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = FROM_ST[h.dtype] ?? bad(`tensor ${name} has unsupported dtype ${h.dtype}`);
    const [a, b] = h.data_offsets;
    const data = allocate(dtype, numel(h.shape));
    if (b - a !== data.byteLength || 8 + n + b > buf.byteLength) bad(`tensor ${name}: offsets [${a}, ${b}] do not fit shape [${h.shape}] ${h.dtype}`);
    new Uint8Array(data.buffer).set(buf.subarray(8 + n + a, 8 + n + b)); // copy: aligned, owned
    tensors.set(name, { dtype, dims: h.shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafeTensors {
  return decodeSafetensors(readFileSync(path), path);
}
