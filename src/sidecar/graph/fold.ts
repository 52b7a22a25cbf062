/**
 * Constant folding: evaluates, in TypeScript, the small constant subgraphs that exporters leave in a
 * model (PyTorch without `do_constant_folding`: Resize scales from Concat(Constant, Constant), Reshape
 * targets from Shape/Gather/Unsqueeze/Concat of a static shape, ...) and replaces them by initializers,
 * so the gradient rules that need a constant input (Resize scales, Reshape shape, Slice starts, Pad pads,
 * Expand shape, Reduce axes ...) see one. One short evaluation rule per op, in one table (FOLD_RULES),
 * as in onnx's optimizer and tinygrad's constant folding; nothing here needs ONNX Runtime.
 *
 * Only small tensors are computed (FOLD_LIMIT elements per input and output), so weights are never
 * duplicated; Constant nodes of any size become initializers (a move, not a copy). Names in `keep`
 * (the values being differentiated) and trainable parameters are never treated as constants.
 */
import type { Graph } from './graph';
import { inferNode } from './shapes';
import {
  type AttrValue, type DType, type Node, type TensorValue, allocate, dtypeFromOnnx, isFloat, numel, toNumbers,
} from './types';

/** Most elements a folded input or output may have (shape arithmetic is a few dozen at most). */
export const FOLD_LIMIT = 1024;

/** A constant as plain numbers (int64 beyond 2^53 loses precision, which only Slice's "to the end" sentinels reach; written back clamped to int64). */
interface Value { dtype: DType; dims: number[]; v: number[] }
interface FoldArgs { x: Value[]; node: Node; attr<T extends AttrValue>(name: string, dflt: T): T }
/** Evaluates one node; undefined when it should stay a node (a result over FOLD_LIMIT). */
type FoldRule = (a: FoldArgs) => Value | undefined;

const fail = (msg: string): never => {
  throw new Error(msg);
};
const strides = (dims: number[]) => dims.map((_, i) => numel(dims.slice(i + 1)));
const axis = (a: number, r: number) => (a < 0 ? a + r : a);
const get = (x: Value, idx: number[]) => x.v[idx.reduce((s, j, k) => s + j * strides(x.dims)[k], 0)];
/** A tensor of `dims` whose element at multi-index idx is f(idx) (the core of Gather, Slice, Concat, broadcasting). */
function build(dims: number[], dtype: DType, f: (idx: number[]) => number): Value {
  const st = strides(dims);
  const v = Array.from({ length: numel(dims) }, (_, flat) => f(dims.map((_, k) => Math.floor(flat / st[k]) % dims[k])));
  return { dtype, dims, v };
}
function broadcastDims(xs: Value[]): number[] {
  const r = Math.max(...xs.map((x) => x.dims.length));
  return Array.from({ length: r }, (_, i) => Math.max(...xs.map((x) => x.dims[i - r + x.dims.length] ?? 1)));
}
/** Elementwise op with numpy broadcasting; `dtype` of the result defaults to the first input's. */
function elementwise(xs: Value[], f: (...v: number[]) => number, dtype = xs[0].dtype): Value {
  const dims = broadcastDims(xs);
  const at = (x: Value, idx: number[]) => get(x, idx.slice(dims.length - x.dims.length).map((j, k) => (x.dims[k] === 1 ? 0 : j)));
  const out = build(dims, dtype, (idx) => f(...xs.map((x) => at(x, idx))));
  return isFloat(dtype) ? out : { ...out, v: out.v.map(Math.trunc) };
}
const binary = (f: (a: number, b: number) => number): FoldRule => ({ x }) => elementwise(x, f);
const unary = (f: (a: number) => number): FoldRule => ({ x }) => elementwise([x[0]], f);
const compare = (f: (a: number, b: number) => boolean): FoldRule => ({ x }) => elementwise(x, (a, b) => Number(f(a, b)), 'bool');
/** Axes from input i (opset 13+) or the `axes` attribute (older opsets). */
const axesOf = (a: FoldArgs, i: number, r: number): number[] | undefined => {
  const list = a.x[i] ? a.x[i].v : (a.node.attrs.axes as number[] | undefined);
  return list?.map((e) => axis(e, r));
};

export const FOLD_RULES: Record<string, FoldRule> = {
  Identity: ({ x }) => x[0],
  Cast: (a) => {
    const to = dtypeFromOnnx(a.attr('to', 1));
    return { dtype: to, dims: a.x[0].dims, v: a.x[0].v.map((e) => (to === 'bool' ? Number(e !== 0) : isFloat(to) ? e : Math.trunc(e))) };
  },
  Add: binary((p, q) => p + q),
  Sub: binary((p, q) => p - q),
  Mul: binary((p, q) => p * q),
  Div: ({ x }) => elementwise(x, (p, q) => (isFloat(x[0].dtype) ? p / q : Math.trunc(p / q))),
  Neg: unary((p) => -p),
  Sqrt: unary(Math.sqrt),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Max: ({ x }) => elementwise(x, Math.max),
  Min: ({ x }) => elementwise(x, Math.min),
  Equal: compare((p, q) => p === q),
  Less: compare((p, q) => p < q),
  Greater: compare((p, q) => p > q),
  Not: ({ x }) => elementwise([x[0]], (p) => Number(!p), 'bool'),
  Where: ({ x }) => elementwise(x, (c, p, q) => (c ? p : q), x[1].dtype),
  Unsqueeze: (a) => {
    const x = a.x[0], r = x.dims.length + (axesOf(a, 1, 0)?.length ?? 0), dims = [...x.dims];
    for (const ax of (axesOf(a, 1, r) ?? []).sort((p, q) => p - q)) dims.splice(ax, 0, 1);
    return { ...x, dims };
  },
  Squeeze: (a) => {
    const x = a.x[0], ax = axesOf(a, 1, x.dims.length);
    return { ...x, dims: x.dims.filter((d, i) => (ax ? !ax.includes(i) : d !== 1)) };
  },
  Reshape: ({ x: [x, s], attr }) => {
    const dims = s.v.map((d, i) => (d === 0 && !attr('allowzero', 0) ? x.dims[i] : d));
    const known = numel(dims.filter((d) => d !== -1)), out = dims.map((d) => (d === -1 ? x.v.length / known : d));
    if (numel(out) !== x.v.length || !out.every(Number.isInteger)) fail(`cannot reshape [${x.dims}] to [${s.v}]`);
    return { ...x, dims: out };
  },
  Concat: (a) => {
    const xs = a.x.filter((x) => x.v.length > 0), ax = axis(a.attr('axis', 0), a.x[0].dims.length);
    if (!xs.length) return a.x[0];
    const starts = xs.map((_, i) => xs.slice(0, i).reduce((s, x) => s + x.dims[ax], 0));
    const dims = xs[0].dims.map((d, k) => (k === ax ? xs.reduce((s, x) => s + x.dims[ax], 0) : d));
    return build(dims, xs[0].dtype, (idx) => {
      const i = starts.findLastIndex((s) => s <= idx[ax]);
      return get(xs[i], idx.map((j, k) => (k === ax ? j - starts[i] : j)));
    });
  },
  Gather: (a) => {
    const [x, ind] = a.x, ax = axis(a.attr('axis', 0), x.dims.length);
    const dims = [...x.dims.slice(0, ax), ...ind.dims, ...x.dims.slice(ax + 1)];
    return build(dims, x.dtype, (idx) => {
      const j = get(ind, idx.slice(ax, ax + ind.dims.length));
      if (j < -x.dims[ax] || j >= x.dims[ax]) fail(`index ${j} out of range for axis ${ax} of size ${x.dims[ax]}`);
      return get(x, [...idx.slice(0, ax), j < 0 ? j + x.dims[ax] : j, ...idx.slice(ax + ind.dims.length)]);
    });
  },
  Slice: (a) => {
    const x = a.x[0], r = x.dims.length;
    const axes = a.x[3] ? a.x[3].v.map((e) => axis(e, r)) : a.x[1].v.map((_, i) => i);
    const start = [...Array(r).fill(0)], step = [...Array(r).fill(1)], dims = [...x.dims];
    axes.forEach((ax, i) => {
      const n = x.dims[ax], s = a.x[4]?.v[i] ?? 1;
      const clamp = (e: number, lo: number, hi: number) => Math.min(Math.max(e < 0 ? e + n : e, lo), hi);
      const b = s > 0 ? clamp(a.x[1].v[i], 0, n) : clamp(a.x[1].v[i], 0, n - 1);
      const e = s > 0 ? clamp(a.x[2].v[i], 0, n) : clamp(a.x[2].v[i], -1, n - 1);
      start[ax] = b;
      step[ax] = s;
      dims[ax] = Math.max(0, Math.ceil((e - b) / s));
    });
    return build(dims, x.dtype, (idx) => get(x, idx.map((j, k) => start[k] + j * step[k])));
  },
  Range: ({ x: [s, l, d] }) => {
    const n = Math.max(Math.ceil((l.v[0] - s.v[0]) / d.v[0]), 0);
    return { dtype: s.dtype, dims: [n], v: Array.from({ length: n }, (_, i) => s.v[0] + i * d.v[0]) };
  },
  ConstantOfShape: (a) => {
    const value = a.attr<TensorValue | number>('value', 0), fill = typeof value === 'number' ? { dtype: 'float32' as DType, v: 0 } : { dtype: value.dtype, v: toNumbers(value)[0] };
    const dims = a.x[0].v;
    if (numel(dims) > FOLD_LIMIT) return undefined;
    return { dtype: fill.dtype, dims, v: Array(numel(dims)).fill(fill.v) };
  },
};

const INT64_MAX = 2n ** 63n - 1n;
function toValue(t: TensorValue): Value {
  return { dtype: t.dtype, dims: [...t.dims], v: toNumbers(t) };
}
function toTensor(x: Value): TensorValue {
  const data = allocate(x.dtype, x.v.length);
  if (data instanceof BigInt64Array) x.v.forEach((e, i) => { const b = BigInt(Math.trunc(e)); data[i] = b > INT64_MAX ? INT64_MAX : b < -INT64_MAX - 1n ? -INT64_MAX - 1n : b; });
  else if (x.dtype === 'float16') fail('folding float16 constants is not supported');
  else (data as Float32Array).set(x.v);
  return { dtype: x.dtype, dims: x.dims, data };
}

export interface FoldOptions {
  /** Values never treated as constants (e.g. the names being differentiated). */
  keep?: Iterable<string>;
}
export interface FoldReport { folded: number; removed: number }

/**
 * Folds `g` in place: Constant nodes become initializers, Shape of a static shape becomes a constant,
 * FOLD_RULES ops whose inputs are all (small) constants are evaluated, dead nodes are removed, and the
 * shapes of the nodes downstream are inferred again from the new constants.
 */
export function foldConstants(g: Graph, o: FoldOptions = {}): FoldReport {
  const keep = new Set([...(o.keep ?? []), ...g.trainable, ...g.inputs]);
  const known = (name: string) => (name && !keep.has(name) ? g.constValue(name) : undefined);
  let folded = 0;
  const orphans = new Set<string>(); // values only folded nodes used: removed once nothing else does
  const outputs = new Set(g.outputs); // the model's outputs stay computed by nodes
  const nodes = g.nodes.splice(0);
  for (const node of nodes) {
    const values = node.outputs.some((out) => outputs.has(out)) ? undefined : evaluate(g, node, known);
    if (!values) {
      g.nodes.push(node);
      continue;
    }
    for (const n of [...measured(node), ...node.outputs]) if (n && !keep.has(n)) orphans.add(n);
    node.outputs.forEach((out, i) => {
      if (!out) return;
      g.initializers.set(out, values[i]);
      g.define(out, { dtype: values[i].dtype, shape: [...values[i].dims] });
    });
    folded++;
  }
  const removed = removeDead(g, orphans);
  reinferShapes(g);
  return { folded, removed };
}

/** The node's outputs as constants, or undefined when it does not fold. */
function evaluate(g: Graph, node: Node, known: (name: string) => TensorValue | undefined): TensorValue[] | undefined {
  if (node.domain && node.domain !== 'ai.onnx') return undefined;
  if (node.op === 'Constant') return node.outputs[0] && known(node.outputs[0]) ? [known(node.outputs[0])!] : undefined;
  if (node.op === 'Shape') return staticShape(g, node);
  if (node.op === 'Gather' && g.shapeSource(node.inputs[0])) return staticDims(g, node, known);
  if (node.op === 'Size') return staticShape(g, node) && [toTensor({ dtype: 'int64', dims: [], v: [numel(staticDimsOf(g, node.inputs[0])!)] })];
  const rule = FOLD_RULES[node.op];
  if (!rule || node.outputs.length !== 1) return undefined;
  const ins = node.inputs.map((n) => (n ? known(n) : null));
  if (ins.some((v) => v === undefined || (v && v.data.length > FOLD_LIMIT)) || ins.every((v) => v === null)) return undefined;
  if (ins.some((v) => v?.dtype === 'float16')) return undefined;
  let out: Value | undefined;
  try {
    const x = ins.map((v) => (v ? toValue(v) : undefined)) as Value[]; // omitted optional inputs stay undefined
    out = rule({ x, node, attr: (name, dflt) => (node.attrs[name] as typeof dflt | undefined) ?? dflt });
  } catch (e) {
    throw new Error(`constant folding of ${node.op} (node "${node.name}", output ${node.outputs[0]}): ${(e as Error).message}`, { cause: e });
  }
  if (!out || out.v.length > FOLD_LIMIT || out.v.length !== numel(out.dims) || (!isFloat(out.dtype) && !out.v.every(Number.isFinite))) return undefined;
  return [toTensor(out)];
}

const staticDimsOf = (g: Graph, name: string): number[] | undefined => {
  const s = g.tensor(name).shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
};
/** Shape(x) (with opset 15's start/end) when x's dims are all numbers. */
function staticShape(g: Graph, node: Node): TensorValue[] | undefined {
  const s = staticDimsOf(g, node.inputs[0]);
  if (!s) return undefined;
  const r = s.length, clamp = (e: number) => Math.min(Math.max(e < 0 ? e + r : e, 0), r);
  const start = clamp((node.attrs.start as number | undefined) ?? 0), end = clamp((node.attrs.end as number | undefined) ?? r);
  const dims = s.slice(start, Math.max(start, end));
  return [toTensor({ dtype: 'int64', dims: [dims.length], v: dims })];
}

/** Gather(Shape(x), i) when the dims picked are numbers, though others (a dynamic batch) are not. */
function staticDims(g: Graph, node: Node, known: (name: string) => TensorValue | undefined): TensorValue[] | undefined {
  const s = g.tensor(g.shapeSource(node.inputs[0])!).shape, ind = known(node.inputs[1]);
  if (!s || !ind) return undefined;
  const picked = toNumbers(ind).map((i) => s[i < 0 ? i + s.length : i]);
  if (!picked.every((d) => typeof d === 'number')) return undefined;
  return [toTensor({ dtype: 'int64', dims: [...ind.dims], v: picked as number[] })];
}

/** The inputs whose values a node uses: Shape and Size only measure theirs (the data stays needed elsewhere). */
const measured = (n: Node) => (n.op === 'Shape' || n.op === 'Size' ? [] : n.inputs);

/**
 * Drops what folding orphaned: nodes whose outputs only folded nodes used (the Shape under a folded
 * Gather ...), backwards, and the constants only they used. Other unused nodes stay: a graph being
 * built may still use them (a training step marks its outputs after differentiating).
 */
function removeDead(g: Graph, orphans: Set<string>): number {
  const used = new Set<string>(g.outputs);
  const alive = [...g.nodes].reverse().filter((n) => {
    const outs = n.outputs.filter(Boolean);
    if (outs.every((out) => orphans.has(out) && !used.has(out))) {
      for (const i of measured(n)) if (i) orphans.add(i);
      return false;
    }
    for (const i of n.inputs) used.add(i);
    return true;
  }).reverse();
  const removed = g.nodes.length - alive.length;
  g.nodes.splice(0, g.nodes.length, ...alive);
  for (const name of g.initializers.keys()) if (orphans.has(name) && !used.has(name) && !g.trainable.has(name)) g.initializers.delete(name);
  return removed;
}

/** Re-infers the outputs of nodes whose shape is not fully known, now that more inputs are constants. */
function reinferShapes(g: Graph): void {
  for (const node of g.nodes) {
    const outs = node.outputs.filter(Boolean);
    if (!outs.length || outs.every((o) => g.tensor(o).shape?.every((d) => d !== null))) continue;
    let infos;
    try {
      infos = inferNode({
        op: node.op, opset: g.opset, attrs: node.op === 'Split' ? { ...node.attrs, __outputs: node.outputs.length } : node.attrs,
        inputs: node.inputs.map((n) => (n ? g.tensor(n) : undefined)),
        constant: (i) => { const v = node.inputs[i] ? g.constValue(node.inputs[i]) : undefined; return v ? toNumbers(v) : undefined; },
        shapeOf: (i) => { const src = node.inputs[i] && g.shapeSource(node.inputs[i]); return src ? g.tensor(src).shape : undefined; },
      }, node.outputs.length);
    } catch {
      continue; // shapes stay as they were (imported graphs infer leniently)
    }
    node.outputs.forEach((out, i) => {
      const now = g.tensor(out || '').shape, next = infos[i]?.shape;
      if (out && next && (!now || next.filter((d) => d !== null).length > now.filter((d) => d !== null).length)) g.define(out, { dtype: g.tensor(out).dtype, shape: next });
    });
  }
}
