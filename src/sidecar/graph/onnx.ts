/**
 * Graph <-> ONNX ModelProto: serialisation (initializers as raw data, inline or in an external data
 * file), decoding of models we did not build (external data resolved), and file helpers.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { writeAtomic } from '../io/atomic';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Graph } from './graph';
import { AttrType, decodeModel, encodeModel, type AttributeProto, type ModelProto, type TensorProto, type ValueInfoProto } from './proto';
import { ONNX_DTYPE, allocate, dtypeFromOnnx, numel, type AttrValue, type Node, type TensorValue, type ValueInfo } from './types';

export interface SaveOptions {
  /** File name (beside the model) for initializers of at least `threshold` bytes; default: all inline. */
  externalData?: string;
  threshold?: number;
}

const IR_VERSION = 10;
/** Model metadata key listing the parameters (g.trainable), so a saved model loads with them marked. */
export const TRAINABLE_KEY = 'diffusion_studio.trainable';

function bytesOf(v: TensorValue): Uint8Array {
  return new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
}

export function tensorToProto(name: string, v: TensorValue): TensorProto {
  return { name, dims: v.dims, data_type: ONNX_DTYPE[v.dtype], raw_data: bytesOf(v) };
}

function attrToProto(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') return { name, type: AttrType.INT, i: v };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) {
    return typeof v[0] === 'string'
      ? { name, type: AttrType.STRINGS, strings: (v as string[]).map((s) => Buffer.from(s)) }
      : { name, type: AttrType.INTS, ints: v as number[] };
  }
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: AttrType.FLOATS, floats: v.floats };
  if ('raw' in v) return { ...(v.raw as AttributeProto), name };
  return { name, type: AttrType.TENSOR, t: tensorToProto('', v) };
}

function valueInfo(name: string, info: ValueInfo | undefined): ValueInfoProto {
  if (!info) return { name };
  const shape = info.shape ? { dim: info.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})) } : undefined;
  return { name, type: { tensor_type: { elem_type: ONNX_DTYPE[info.dtype], ...(shape ? { shape } : {}) } } };
}

/** The ModelProto of a graph; `external` receives initializers to be stored outside. */
export function toModelProto(g: Graph, external?: (name: string, v: TensorValue) => TensorProto | undefined): ModelProto {
  const nodes = g.nodes.map((n) => ({
    name: n.name, op_type: n.op, domain: n.domain, input: n.inputs, output: n.outputs,
    attribute: Object.entries(n.attrs).map(([k, v]) => attrToProto(k, v)),
  }));
  const inputSet = new Set(g.inputs);
  const used = new Set([...g.nodes.flatMap((n) => n.inputs), ...g.outputs]); // unused constants are dropped
  const initializer = [...g.initializers].filter(([n]) => !inputSet.has(n) && used.has(n)).map(([n, v]) => external?.(n, v) ?? tensorToProto(n, v));
  const opsets = [{ domain: '', version: g.opset }, ...[...g.extraOpsets].map(([domain, version]) => ({ domain, version }))];
  const trainable = [...g.trainable].filter((n) => g.initializers.has(n) && !inputSet.has(n));
  const metadata_props = trainable.length ? [{ key: TRAINABLE_KEY, value: JSON.stringify(trainable) }] : [];
  return {
    ir_version: IR_VERSION, producer_name: 'diffusion-studio', opset_import: opsets, metadata_props,
    graph: {
      name: g.name, node: nodes, initializer,
      input: g.inputs.map((n) => valueInfo(n, g.info.get(n))),
      output: g.outputs.map((n) => valueInfo(n, g.info.get(n))),
    },
  };
}

/** Serialises a graph to ONNX bytes (all weights inline). */
export function toOnnx(g: Graph): Uint8Array {
  return encodeModel(toModelProto(g));
}

/**
 * `g` serialised with the initializers `fed` listed as graph inputs, so their values are left out of
 * the bytes and fed with every run instead (weights of any size in a protobuf of a few MB); `g` itself
 * is left as it was.
 */
export function toOnnxFeeding(g: Graph, fed: readonly string[]): Uint8Array {
  const before = g.inputs.length;
  g.inputs.push(...fed);
  try {
    return toOnnx(g);
  } finally {
    g.inputs.length = before;
  }
}

/** Writes a model file atomically; large initializers go to `opts.externalData` beside it. */
export function saveModel(g: Graph, path: string, opts: SaveOptions = {}): void {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const threshold = opts.threshold ?? 1024;
  const external = opts.externalData
    ? (name: string, v: TensorValue): TensorProto | undefined => {
      const b = bytesOf(v);
      if (b.byteLength < threshold) return undefined;
      const pad = (64 - (offset % 64)) % 64; // keep each tensor aligned for mmap readers
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(b);
      const entry = [{ key: 'location', value: opts.externalData! }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(b.byteLength) }];
      offset += b.byteLength;
      return { name, dims: v.dims, data_type: ONNX_DTYPE[v.dtype], data_location: 1, external_data: entry };
    }
    : undefined;
  const bytes = encodeModel(toModelProto(g, external));
  if (opts.externalData) writeAtomic(join(dirname(path), opts.externalData), chunks);
  writeAtomic(path, [bytes]);
}

// ---- decoding ----------------------------------------------------------------------------------

/** Reads external tensor data by offset from files opened once per model (large models: GBs). */
export class ExternalData {
  private readonly fds = new Map<string, number>();
  constructor(readonly baseDir: string) {}
  read(location: string, offset: number, length: number): Uint8Array {
    let fd = this.fds.get(location);
    if (fd === undefined) this.fds.set(location, (fd = openSync(this.confined(location), 'r')));
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      // at most 1 GiB per read: Node refuses lengths over 2^31 - 1 (one SD UNet tensor can exceed it)
      const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
      if (n === 0) throw new Error(`external data ${location}: ${length} bytes at offset ${offset} run past the end of the file`);
      done += n;
    }
    return out;
  }
  /**
   * The file a `location` names, refused when it leaves the model's folder: a hostile model could
   * otherwise read any file (`../../.ssh/id_rsa`) into its weights. The check is on the path as
   * written, like ONNX Runtime's own (which refuses such a file when it creates a session); symlinks
   * inside the folder are followed, since model caches link weights to shared blobs.
   */
  private confined(location: string): string {
    const path = resolve(this.baseDir, location);
    const rel = relative(resolve(this.baseDir), path);
    if (isAbsolute(location) || rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new Error(`external data "${location}" leaves the model folder ${this.baseDir}: refused`);
    }
    return path;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

export function tensorFromProto(t: TensorProto, external?: ExternalData): TensorValue {
  const dtype = dtypeFromOnnx(t.data_type ?? 1);
  const dims = (t.dims ?? []).map(Number);
  const data = allocate(dtype, numel(dims));
  let raw = t.raw_data;
  if (t.data_location === 1) {
    const kv = Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));
    if (!external) throw new Error(`tensor ${t.name} uses external data but no model directory is known`);
    raw = external.read(kv.location, Number(kv.offset ?? 0), Number(kv.length ?? data.byteLength));
  }
  if (raw && raw.byteLength) {
    if (raw.byteLength !== data.byteLength) throw new Error(`tensor ${t.name}: ${raw.byteLength} bytes for shape [${dims}] ${dtype}`);
    new Uint8Array(data.buffer).set(raw);
  } else {
    const vals = t.float_data ?? t.double_data ?? t.int64_data ?? t.int32_data ?? t.uint64_data ?? [];
    if (data instanceof BigInt64Array) vals.forEach((v, i) => (data[i] = BigInt(v)));
    else (data as Float32Array).set(vals);
  }
  return { dtype, dims, data };
}

function attrFromProto(a: AttributeProto): AttrValue {
  switch (a.type) {
    case AttrType.FLOAT: return { float: a.f ?? 0 };
    case AttrType.INT: return a.i ?? 0;
    case AttrType.STRING: return Buffer.from(a.s ?? []).toString('utf8');
    case AttrType.TENSOR: return tensorFromProto(a.t!);
    case AttrType.FLOATS: return { floats: a.floats ?? [] };
    case AttrType.INTS: return a.ints ?? [];
    case AttrType.STRINGS: return (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8'));
    default: return { raw: a } as unknown as AttrValue;
  }
}

function infoFromProto(v: ValueInfoProto): ValueInfo | undefined {
  const tt = v.type?.tensor_type;
  if (!tt?.elem_type) return undefined;
  const shape = tt.shape ? (tt.shape.dim ?? []).map((d) => (d.dim_value !== undefined ? Number(d.dim_value) : d.dim_param ?? null)) : null;
  return { dtype: dtypeFromOnnx(tt.elem_type), shape };
}

/** A Graph from a decoded model; shapes are re-inferred where the file does not state them. */
export interface LoadOptions {
  /** Mark the parameters a diffusion-studio save listed (metadata) as g.trainable (default false). */
  markParameters?: boolean;
}

export function fromModelProto(m: ModelProto, baseDir?: string, o: LoadOptions = {}): Graph {
  const opset = m.opset_import?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 21;
  const gp = m.graph ?? {};
  const g = new Graph({ opset: Number(opset), name: gp.name || 'graph' });
  g.strict = false;
  for (const o of m.opset_import ?? []) if (o.domain && o.domain !== 'ai.onnx') g.extraOpsets.set(o.domain, Number(o.version));
  const inits = new Map((gp.initializer ?? []).map((t) => [t.name!, t]));
  const external = baseDir ? new ExternalData(baseDir) : undefined;
  try {
    for (const [name, t] of inits) g.initializer(name, tensorFromProto(t, external));
  } finally {
    external?.close();
  }
  for (const v of gp.input ?? []) {
    if (inits.has(v.name)) continue; // old exporters list initializers as inputs too
    const info = infoFromProto(v);
    if (!info) throw new Error(`model input ${v.name} is not a tensor`);
    g.input(v.name, info.dtype, info.shape);
  }
  const known = new Map((gp.value_info ?? []).map((v) => [v.name, infoFromProto(v)]));
  for (const v of gp.output ?? []) known.set(v.name, infoFromProto(v));
  for (const np of gp.node ?? []) addImportedNode(g, np, known);
  for (const v of gp.output ?? []) g.outputs.push(v.name);
  const listed = o.markParameters ? m.metadata_props?.find((p) => p.key === TRAINABLE_KEY)?.value : undefined;
  for (const n of listed ? (JSON.parse(listed) as string[]) : []) if (g.initializers.has(n)) g.trainable.add(n);
  return g;
}

function addImportedNode(g: Graph, np: NonNullable<ModelProto['graph']>['node'] extends (infer N)[] | undefined ? N : never, known: Map<string, ValueInfo | undefined>): void {
  const attrs: Record<string, AttrValue> = {};
  for (const a of np.attribute ?? []) attrs[a.name] = attrFromProto(a);
  const node: Node = { op: np.op_type, domain: np.domain ?? '', name: np.name || g.fresh(`n_${np.op_type}`), inputs: np.input ?? [], outputs: np.output ?? [], attrs };
  // Infer through the builder's rules without adding a node, then register the outputs.
  const probe = new Graph({ opset: g.opset });
  probe.strict = false;
  const ins = node.inputs.map((n) => (n && g.has(n) ? probeInput(probe, g, n) : null));
  const outs = probe.node(node.op, ins, attrs, { outputs: node.outputs.length, domain: node.domain });
  node.outputs.forEach((o, i) => { if (o) g.define(o, known.get(o) ?? { dtype: outs[i].dtype, shape: outs[i].shape }); });
  g.pushNode(node);
}

function probeInput(probe: Graph, g: Graph, name: string) {
  const t = g.tensor(name);
  const v = g.constValue(name);
  if (v && v.data.length <= 64) return probe.initializer(name, v);
  const source = g.shapeSource(name);
  if (source && g.has(source) && !probe.has(source)) {
    const src = g.tensor(source);
    probe.define(src.name, { dtype: src.dtype, shape: src.shape });
    return probe.node('Shape', [src], {}, { names: [name] })[0];
  }
  if (!probe.has(name)) probe.define(name, { dtype: t.dtype, shape: t.shape });
  return t;
}

/**
 * The number of weight values of an ONNX file (float32 initializers of more than one element that are
 * not builder constants, as weightNames counts them), from its header alone: external data (3.4 GB
 * for an SD 1.5 UNet) is not read.
 */
export function countWeights(path: string): number {
  const inits = decodeModel(readFileSync(path)).graph?.initializer ?? [];
  let n = 0;
  for (const t of inits) {
    const size = (t.dims ?? []).reduce((a, b) => a * Number(b), 1);
    if (t.data_type === ONNX_DTYPE.float32 && size > 1 && !/^const(_\d+)?$/.test(t.name ?? '')) n += size;
  }
  return n;
}

/** Reads an ONNX file (external data resolved relative to it) into a Graph. */
export function loadModel(path: string, o: LoadOptions = {}): Graph {
  return fromModelProto(decodeModel(readFileSync(path)), dirname(path), o);
}
