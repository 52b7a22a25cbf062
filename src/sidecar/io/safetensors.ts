/**
 * safetensors (huggingface/safetensors format): 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}), then the raw
 * little-endian tensor bytes. Small and dependency-free.
 *
 * Files of any size: reading opens the file, parses the header and reads each tensor by its offset
 * with a file descriptor (never the whole file into one buffer: Node caps a Buffer at 2-4 GiB and a
 * Stable Diffusion UNet's weights are 3.4 GB); writing streams tensor by tensor (a tensor may even be
 * produced piece by piece, see LazyTensor). Writes are atomic (temp, fsync, rename: io/atomic.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeAtomic } from './atomic';
import { allocate, numel, type DType, type TensorValue } from '../graph/types';

const TO_ST: Partial<Record<DType, string>> = { float32: 'F32', float64: 'F64', float16: 'F16', int64: 'I64', int32: 'I32', int8: 'I8', uint8: 'U8', bool: 'BOOL' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const ELEMENT_BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1 };
/** The format's own cap on the header (huggingface/safetensors refuses larger): a hostile length allocates nothing. */
const MAX_HEADER = 100_000_000;
/** One read(2) at most this long (Node refuses lengths over 2^31 - 1). */
const READ_CHUNK = 1 << 30;

export interface SafeTensors {
  tensors: Map<string, TensorValue>;
  metadata: Record<string, string>;
}

/**
 * A tensor whose bytes are produced only when the writer reaches it, e.g. a weight transposed to
 * PyTorch's layout or read from another file: a multi-GB file is written without all of it in memory.
 * `chunks` must yield exactly numel(dims) elements' bytes, little-endian.
 */
export interface LazyTensor {
  dtype: DType;
  dims: number[];
  chunks(): Iterable<Uint8Array>;
}

export type TensorSource = Map<string, TensorValue | LazyTensor> | Iterable<[string, TensorValue | LazyTensor]>;

const byteLength = (dtype: DType, dims: readonly number[]): number => numel(dims) * ELEMENT_BYTES[dtype];

/** The file's bytes in order (length, header, then each tensor as the writer reaches it). */
export function* safetensorsChunks(tensors: TensorSource, metadata: Record<string, string> = {}): Generator<Uint8Array> {
  const list = [...tensors];
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, v] of list) {
    const dtype = TO_ST[v.dtype];
    if (!dtype) throw new Error(`safetensors: ${name} has unsupported type ${v.dtype}`);
    const n = byteLength(v.dtype, v.dims);
    header[name] = { dtype, shape: v.dims, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keep the data 8-byte aligned
  const jb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jb.byteLength));
  yield len;
  yield jb;
  for (const [name, v] of list) {
    if ('data' in v) {
      yield new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      continue;
    }
    let n = 0;
    for (const c of v.chunks()) {
      n += c.byteLength;
      yield c;
    }
    // A short or long tensor would shift every later one: fail before the file is renamed into place.
    if (n !== byteLength(v.dtype, v.dims)) throw new Error(`safetensors: ${name} produced ${n} bytes for shape [${v.dims}] ${v.dtype}`);
  }
}

/** The whole file in memory (small files, tests); files of any size go through writeSafetensors. */
export function encodeSafetensors(tensors: TensorSource, metadata: Record<string, string> = {}): Uint8Array[] {
  return [...safetensorsChunks(tensors, metadata)];
}

/** Writes atomically, tensor by tensor: a crash leaves the previous file or the new one, never a torn one. */
export function writeSafetensors(path: string, tensors: TensorSource, metadata: Record<string, string> = {}): void {
  writeAtomic(path, safetensorsChunks(tensors, metadata));
}

/** One tensor's place in the file: bytes [begin, end) after the header. */
export interface SafetensorsEntry {
  dtype: DType;
  dims: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** Parses and checks a header against the number of data bytes that follow it. */
function parseHeader(json: Uint8Array, dataBytes: number, what: string): Header {
  const bad = (msg: string): never => {
    throw new Error(`${what}: not a valid safetensors file (${msg})`);
  };
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch {
    return bad('header is not JSON');
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = FROM_ST[h.dtype] ?? bad(`tensor ${name} has unsupported dtype ${h.dtype}`);
    const [begin, end] = h.data_offsets;
    if (end - begin !== byteLength(dtype, h.shape) || begin < 0 || end > dataBytes) bad(`tensor ${name}: offsets [${begin}, ${end}] do not fit shape [${h.shape}] ${h.dtype}`);
    entries.set(name, { dtype, dims: h.shape, begin, end });
  }
  return { entries, metadata };
}

/**
 * A safetensors file opened for reading tensors one at a time, by offset: memory holds only the
 * tensors asked for. Close it when done (or use readSafetensors for the whole file).
 */
export class SafetensorsReader {
  private constructor(private fd: number, readonly path: string, private readonly dataStart: number, private readonly header: Header) {}

  static open(path: string): SafetensorsReader {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const bad = (msg: string): never => {
        throw new Error(`${path}: not a valid safetensors file (${msg})`);
      };
      if (size < 8) bad('shorter than its header length');
      const len = Buffer.alloc(8);
      readFully(fd, len, 0, path);
      const n = Number(len.readBigUInt64LE(0));
      if (n > MAX_HEADER) bad(`header of ${n} bytes is over the format's ${MAX_HEADER}`);
      if (8 + n > size) bad(`header of ${n} bytes runs past the end`);
      const json = Buffer.alloc(n);
      readFully(fd, json, 8, path);
      return new SafetensorsReader(fd, path, 8 + n, parseHeader(json, size - 8 - n, path));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  get names(): string[] {
    return [...this.header.entries.keys()];
  }

  entry(name: string): SafetensorsEntry | undefined {
    return this.header.entries.get(name);
  }

  /** Reads one tensor into a fresh (aligned, owned) array. */
  read(name: string): TensorValue {
    const e = this.header.entries.get(name);
    if (!e) throw new Error(`${this.path} has no tensor ${name}`);
    const data = allocate(e.dtype, numel(e.dims));
    readFully(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), this.dataStart + e.begin, this.path);
    return { dtype: e.dtype, dims: e.dims, data };
  }

  readAll(): SafeTensors {
    return { tensors: new Map(this.names.map((n) => [n, this.read(n)])), metadata: this.metadata };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  for (let done = 0; done < into.byteLength;) {
    const n = readSync(fd, into, done, Math.min(READ_CHUNK, into.byteLength - done), position + done);
    if (n === 0) throw new Error(`${path}: not a valid safetensors file (ends ${into.byteLength - done} bytes early)`);
    done += n;
  }
}

/** Every tensor of the file, each read by offset (files of any size). */
export function readSafetensors(path: string): SafeTensors {
  const r = SafetensorsReader.open(path);
  try {
    return r.readAll();
  } finally {
    r.close();
  }
}

/** Decodes a file already in memory (e.g. received over the wire). */
export function decodeSafetensors(buf: Uint8Array, what = 'safetensors data'): SafeTensors {
  if (buf.byteLength < 8) throw new Error(`${what}: not a valid safetensors file (shorter than its header length)`);
  const n = Number(new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true));
  if (8 + n > buf.byteLength) throw new Error(`${what}: not a valid safetensors file (header of ${n} bytes runs past the end)`);
  const { entries, metadata } = parseHeader(buf.subarray(8, 8 + n), buf.byteLength - 8 - n, what);
  const tensors = new Map<string, TensorValue>();
  for (const [name, e] of entries) {
    const data = allocate(e.dtype, numel(e.dims));
    new Uint8Array(data.buffer).set(buf.subarray(8 + n + e.begin, 8 + n + e.end)); // copy: aligned, owned
    tensors.set(name, { dtype: e.dtype, dims: e.dims, data });
  }
  return { tensors, metadata };
}
