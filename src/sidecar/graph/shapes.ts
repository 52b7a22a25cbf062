/**
 * Shape and element-type inference, one small function per op. The builder calls it as each node is
 * added, so a wrong shape fails where it is written; the importer calls it leniently to recover static
 * shapes that let the autodiff emit lean gradients. Symbolic dims (strings) flow through; null = unknown.
 */
import { type Dim, type DType, type Shape, type ValueInfo, type AttrValue, dtypeFromOnnx, shapeStr } from './types';

export interface InferContext {
  op: string;
  inputs: Array<ValueInfo | undefined>; // undefined = omitted optional input
  attrs: Record<string, AttrValue>;
  /** The constant value of input i (shape, axes, pads ...) when it is known at build time. */
  constant(i: number): number[] | undefined;
  /** When input i is the output of Shape(t) (whole shape), t's static shape. */
  shapeOf(i: number): Shape | undefined;
  opset: number;
}
type Rule = (c: InferContext) => ValueInfo[];

const fail = (msg: string): never => {
  throw new Error(msg);
};
const dimEq = (a: Dim, b: Dim) => a !== null && a === b;
const rankOf = (s: Shape) => (s === null ? undefined : s.length);
const norm = (axis: number, rank: number) => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
};
const ints = (c: InferContext, name: string): number[] | undefined => c.attrs[name] as number[] | undefined;
const int = (c: InferContext, name: string, dflt: number): number => (c.attrs[name] as number | undefined) ?? dflt;
const inp = (c: InferContext, i: number): ValueInfo => c.inputs[i] ?? fail(`${c.op}: input ${i} is missing`);

export function broadcast(shapes: Shape[]): Shape {
  if (shapes.some((s) => s === null)) return null;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes as Dim[][]) {
      const j = i - rank + s.length;
      const e: Dim = j < 0 ? 1 : s[j];
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (typeof d === 'number' && typeof e === 'number' && d !== e) fail(`cannot broadcast ${shapes.map(shapeStr).join(' with ')}`);
      else if (d !== e) d = typeof e === 'number' ? e : typeof d === 'number' ? d : null;
    }
    out.push(d);
  }
  return out;
}

const same: Rule = (c) => [{ ...inp(c, 0) }];
const binary: Rule = (c) => [{ dtype: inp(c, 0).dtype, shape: broadcast(c.inputs.filter(Boolean).map((i) => i!.shape)) }];
const compare: Rule = (c) => [{ dtype: 'bool', shape: broadcast(c.inputs.map((i) => i?.shape ?? null)) }];

function matmul(c: InferContext): ValueInfo[] {
  const [a, b] = [inp(c, 0), inp(c, 1)];
  if (a.dtype !== b.dtype) fail(`MatMul of ${a.dtype} and ${b.dtype}`);
  if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: null }];
  const as = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
  const bs = b.shape.length === 1 ? [...b.shape, 1] : b.shape;
  const k1 = as[as.length - 1], k2 = bs[bs.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) fail(`MatMul inner dims differ: ${shapeStr(a.shape)} x ${shapeStr(b.shape)}`);
  const batch = broadcast([as.slice(0, -2), bs.slice(0, -2)])!;
  const out = [...batch, ...(a.shape.length === 1 ? [] : [as[as.length - 2]]), ...(b.shape.length === 1 ? [] : [bs[bs.length - 1]])];
  return [{ dtype: a.dtype, shape: out }];
}

function gemm(c: InferContext): ValueInfo[] {
  const [a, b] = [inp(c, 0), inp(c, 1)];
  if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: null }];
  if (a.shape.length !== 2 || b.shape.length !== 2) fail(`Gemm needs 2-D inputs, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [m, k1] = int(c, 'transA', 0) ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = int(c, 'transB', 0) ? [b.shape[1], b.shape[0]] : b.shape;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) fail(`Gemm inner dims differ: ${k1} vs ${k2}`);
  if (c.inputs[2]) broadcast([[m, n], c.inputs[2].shape]);
  return [{ dtype: a.dtype, shape: [m, n] }];
}

/** Conv / ConvTranspose / pooling output sizes (ONNX Conv and ConvTranspose spec formulas). */
function spatial(c: InferContext): ValueInfo[] {
  const x = inp(c, 0);
  const transpose = c.op === 'ConvTranspose', pool = c.op.endsWith('Pool');
  const w = pool ? undefined : inp(c, 1);
  if (!x.shape || (w && !w.shape)) return [{ dtype: x.dtype, shape: null }];
  const nsp = x.shape.length - 2;
  const kernel = ints(c, 'kernel_shape') ?? (w!.shape!.slice(2) as number[]);
  const strides = ints(c, 'strides') ?? Array(nsp).fill(1), dil = ints(c, 'dilations') ?? Array(nsp).fill(1);
  const pads = ints(c, 'pads') ?? Array(2 * nsp).fill(0), outPad = ints(c, 'output_padding') ?? Array(nsp).fill(0);
  const group = int(c, 'group', 1);
  if (typeof c.attrs.auto_pad === 'string' && c.attrs.auto_pad !== 'NOTSET') return [{ dtype: x.dtype, shape: null }];
  let channels: Dim = x.shape[1];
  if (w) {
    const cin = transpose ? w.shape![0] : (w.shape![1] as number) * group;
    if (typeof x.shape[1] === 'number' && typeof cin === 'number' && x.shape[1] !== cin) fail(`${c.op}: input has ${x.shape[1]} channels, weight ${shapeStr(w.shape)} (group ${group}) expects ${cin}`);
    channels = transpose ? (w.shape![1] as number) * group : w.shape![0];
    if (c.inputs[2]?.shape && !dimEq(c.inputs[2].shape[0], channels)) fail(`${c.op}: bias ${shapeStr(c.inputs[2].shape)} does not match ${channels} output channels`);
  }
  const out: Dim[] = [x.shape[0], channels];
  for (let i = 0; i < nsp; i++) {
    const h = x.shape[i + 2];
    if (typeof h !== 'number') { out.push(null); continue; }
    const k = (kernel[i] - 1) * dil[i] + 1;
    const o = transpose ? strides[i] * (h - 1) + outPad[i] + k - pads[i] - pads[i + nsp] : Math.floor((h + pads[i] + pads[i + nsp] - k) / strides[i]) + 1;
    if (o < 1) fail(`${c.op}: spatial size ${h} too small for kernel ${kernel[i]}`);
    out.push(o);
  }
  return [{ dtype: x.dtype, shape: out }];
}

function reshape(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), target = c.constant(1);
  const src = c.shapeOf(1);
  if (!target && src) return [{ dtype: x.dtype, shape: src }];
  if (!target) return [{ dtype: x.dtype, shape: c.inputs[1]?.shape?.[0] !== undefined && typeof c.inputs[1].shape[0] === 'number' ? Array(c.inputs[1].shape[0]).fill(null) : null }];
  const out: Dim[] = target.map((d, i) => (d === 0 && !int(c, 'allowzero', 0) ? (x.shape?.[i] ?? null) : d));
  const neg = out.indexOf(-1);
  if (neg >= 0) out[neg] = inferMinusOne(x.shape, out, neg);
  else if (x.shape?.every((d) => typeof d === 'number') && out.every((d) => typeof d === 'number')) {
    const a = (x.shape as number[]).reduce((p, q) => p * q, 1), b = (out as number[]).reduce((p, q) => p * q, 1);
    if (a !== b) fail(`cannot reshape ${shapeStr(x.shape)} (${a} elements) to [${target}] (${b})`);
  }
  return [{ dtype: x.dtype, shape: out }];
}

/**
 * The -1 of a Reshape target, also with symbolic dims: symbols on both sides cancel, so
 * [batch, 160, 16, 16] -> [0, -1, 160] gives 256, and [batch, 4, 9] -> [-1, 36] gives batch.
 */
function inferMinusOne(inShape: Shape, out: Dim[], neg: number): Dim {
  if (!inShape || inShape.some((d) => d === null) || out.some((d, i) => i !== neg && d === null)) return null;
  const syms = inShape.filter((d): d is string => typeof d === 'string');
  let num = inShape.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  for (const [i, d] of out.entries()) {
    if (i === neg) continue;
    if (typeof d === 'number') num /= d;
    else {
      const at = syms.indexOf(d as string);
      if (at < 0) return null;
      syms.splice(at, 1);
    }
  }
  if (syms.length === 0) {
    if (!Number.isInteger(num)) fail(`cannot reshape ${shapeStr(inShape)} to [${out.map((d, i) => (i === neg ? -1 : d))}]`);
    return num;
  }
  return syms.length === 1 && num === 1 ? syms[0] : null;
}

function transpose(c: InferContext): ValueInfo[] {
  const x = inp(c, 0);
  if (!x.shape) return [{ ...x }];
  const perm = ints(c, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
  if (perm.length !== x.shape.length) fail(`Transpose perm [${perm}] does not fit rank ${x.shape.length}`);
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape![p]) }];
}

function concat(c: InferContext): ValueInfo[] {
  const xs = c.inputs.map((_, i) => inp(c, i));
  if (xs.some((x) => !x.shape)) return [{ dtype: xs[0].dtype, shape: null }];
  const rank = xs[0].shape!.length, axis = norm(int(c, 'axis', 0), rank);
  const out = [...xs[0].shape!];
  for (const x of xs.slice(1)) {
    if (x.dtype !== xs[0].dtype) fail(`Concat of ${xs[0].dtype} and ${x.dtype}`);
    if (x.shape!.length !== rank) fail(`Concat of ranks ${rank} and ${x.shape!.length}`);
    x.shape!.forEach((d, i) => {
      if (i === axis) out[i] = typeof out[i] === 'number' && typeof d === 'number' ? (out[i] as number) + d : null;
      else if (typeof d === 'number' && typeof out[i] === 'number' && d !== out[i]) fail(`Concat: shapes ${xs.map((v) => shapeStr(v.shape)).join(', ')} differ off axis ${axis}`);
    });
  }
  return [{ dtype: xs[0].dtype, shape: out }];
}

function slice(c: InferContext): ValueInfo[] {
  const x = inp(c, 0);
  const starts = c.constant(1), ends = c.constant(2);
  if (!x.shape || !starts || !ends) return [{ dtype: x.dtype, shape: x.shape && x.shape.map(() => null) }];
  const axes = c.inputs[3] ? c.constant(3) : starts.map((_, i) => i), steps = c.inputs[4] ? c.constant(4) : starts.map(() => 1);
  if (!axes || !steps) return [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
  const out = [...x.shape];
  axes.forEach((a0, i) => {
    const a = norm(a0, out.length), d = x.shape![a];
    if (typeof d !== 'number') { out[a] = null; return; }
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const st = steps[i];
    const s = st > 0 ? clampIdx(starts[i], 0, d) : clampIdx(starts[i], -1, d - 1);
    const e = st > 0 ? clampIdx(ends[i], 0, d) : clampIdx(ends[i], -1, d - 1);
    out[a] = Math.max(0, Math.ceil((e - s) / st));
  });
  return [{ dtype: x.dtype, shape: out }];
}

function split(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), n = int(c, '__outputs', 1);
  const sizes = c.inputs[1] ? c.constant(1) : ints(c, 'split');
  if (!x.shape) return Array.from({ length: n }, () => ({ dtype: x.dtype, shape: null }));
  const axis = norm(int(c, 'axis', 0), x.shape.length), d = x.shape[axis];
  const parts = sizes ?? (typeof d === 'number' ? Array.from({ length: n }, (_, i) => Math.min(Math.ceil(d / n), d - i * Math.ceil(d / n))) : Array(n).fill(null));
  if (sizes && typeof d === 'number' && sizes.reduce((a, b) => a + b, 0) !== d) fail(`Split sizes [${sizes}] do not add up to ${d}`);
  return parts.map((p: Dim) => ({ dtype: x.dtype, shape: x.shape!.map((e, i) => (i === axis ? p : e)) }));
}

function axesOf(c: InferContext, inputIndex: number): number[] | undefined {
  return c.inputs[inputIndex] ? c.constant(inputIndex) : ints(c, 'axes');
}

function squeeze(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), axes = axesOf(c, 1);
  if (!x.shape || (c.inputs[1] && !axes)) return [{ dtype: x.dtype, shape: null }];
  const drop = axes ? axes.map((a) => norm(a, x.shape!.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of drop) if (typeof x.shape[a] === 'number' && x.shape[a] !== 1) fail(`Squeeze axis ${a} has size ${x.shape[a]}, not 1`);
  return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !drop.includes(i)) }];
}

function unsqueeze(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), axes = axesOf(c, 1);
  if (!x.shape || !axes) return [{ dtype: x.dtype, shape: null }];
  const rank = x.shape.length + axes.length, at = axes.map((a) => norm(a, rank));
  const src = [...x.shape];
  return [{ dtype: x.dtype, shape: Array.from({ length: rank }, (_, i) => (at.includes(i) ? 1 : src.shift()!)) }];
}

function expand(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), shape = c.constant(1) ?? c.shapeOf(1);
  return [{ dtype: x.dtype, shape: shape ? broadcast([x.shape, shape]) : null }];
}

function reduce(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), keep = int(c, 'keepdims', 1);
  const axes = axesOf(c, 1);
  if (!x.shape || (c.inputs[1] && !axes)) return [{ dtype: x.dtype, shape: null }];
  const all = !axes || axes.length === 0;
  if (all && int(c, 'noop_with_empty_axes', 0)) return [{ ...x }];
  const red = all ? x.shape.map((_, i) => i) : axes.map((a) => norm(a, x.shape!.length));
  return [{ dtype: x.dtype, shape: keep ? x.shape.map((d, i) => (red.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !red.includes(i)) }];
}

function resize(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), scales = c.inputs[2] ? c.constant(2) : undefined, sizes = c.inputs[3] ? c.constant(3) : undefined;
  if (!x.shape) return [{ ...x }];
  if (sizes && sizes.length) return [{ dtype: x.dtype, shape: sizes }];
  if (scales && scales.length) return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales[i]) : scales[i] === 1 ? d : null)) }];
  return [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
}

function gather(c: InferContext): ValueInfo[] {
  const [x, idx] = [inp(c, 0), inp(c, 1)];
  if (!x.shape || !idx.shape) return [{ dtype: x.dtype, shape: null }];
  const axis = norm(int(c, 'axis', 0), x.shape.length);
  return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
}

function norms(c: InferContext): ValueInfo[] {
  const x = inp(c, 0);
  const outs: ValueInfo[] = [{ ...x }];
  if (c.op === 'LayerNormalization' && x.shape) {
    const axis = norm(int(c, 'axis', -1), x.shape.length);
    const stat: ValueInfo = { dtype: x.dtype, shape: x.shape.map((d, i) => (i < axis ? d : 1)) };
    outs.push(stat, { ...stat });
  }
  return outs;
}

function einsum(c: InferContext): ValueInfo[] {
  const eq = (c.attrs.equation as string).replace(/\s/g, '');
  const [lhs, rhs] = eq.split('->');
  const x = inp(c, 0);
  if (rhs === undefined || eq.includes('...') || c.inputs.some((i) => !i?.shape)) return [{ dtype: x.dtype, shape: null }];
  const size = new Map<string, Dim>();
  lhs.split(',').forEach((term, k) => [...term].forEach((ch, j) => {
    const d = c.inputs[k]!.shape![j];
    if (!size.has(ch) || size.get(ch) === 1) size.set(ch, d);
  }));
  return [{ dtype: x.dtype, shape: [...rhs].map((ch) => size.get(ch) ?? fail(`Einsum: output index ${ch} not in inputs`)) }];
}

function pad(c: InferContext): ValueInfo[] {
  const x = inp(c, 0), pads = c.constant(1);
  if (!x.shape || !pads || c.inputs[3]) return [{ dtype: x.dtype, shape: x.shape && x.shape.map(() => null) }];
  const r = x.shape.length;
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + r] : null)) }];
}

const RULES: Record<string, Rule> = {
  Add: binary, Sub: binary, Mul: binary, Div: binary, Pow: binary, Max: binary, Min: binary, Sum: binary, Mean: binary,
  Equal: compare, Less: compare, Greater: compare, LessOrEqual: compare, GreaterOrEqual: compare, And: compare, Or: compare,
  Where: (c) => [{ dtype: inp(c, 1).dtype, shape: broadcast([inp(c, 0).shape, inp(c, 1).shape, inp(c, 2).shape]) }],
  MatMul: matmul, Gemm: gemm, Conv: spatial, ConvTranspose: spatial, AveragePool: spatial, MaxPool: spatial,
  Reshape: reshape, Transpose: transpose, Concat: concat, Slice: slice, Split: split, Squeeze: squeeze, Unsqueeze: unsqueeze,
  Expand: expand, Resize: resize, Gather: gather, Pad: pad, Einsum: einsum,
  ReduceMean: reduce, ReduceSum: reduce, ReduceMax: reduce, ReduceMin: reduce, ReduceSumSquare: reduce, ReduceL2: reduce,
  LayerNormalization: norms, InstanceNormalization: norms, GroupNormalization: norms,
  Cast: (c) => [{ dtype: dtypeFromOnnx(c.attrs.to as number), shape: inp(c, 0).shape }],
  CastLike: (c) => [{ dtype: inp(c, 1).dtype, shape: inp(c, 0).shape }],
  Shape: (c) => { // opset 15's start/end take a range of the dims (negative from the end, clamped)
    const r = rankOf(inp(c, 0).shape);
    if (r === undefined) return [{ dtype: 'int64', shape: [null] }];
    const at = (e: number) => Math.min(Math.max(e < 0 ? e + r : e, 0), r);
    return [{ dtype: 'int64', shape: [Math.max(0, at(int(c, 'end', r)) - at(int(c, 'start', 0)))] }];
  },
  Size: () => [{ dtype: 'int64', shape: [] }],
  NonZero: (c) => [{ dtype: 'int64', shape: [rankOf(inp(c, 0).shape) ?? null, null] }],
  ConstantOfShape: (c) => [{ dtype: (c.attrs.value as { dtype: DType } | undefined)?.dtype ?? 'float32', shape: c.constant(0) ?? c.shapeOf(0) ?? null }],
  Constant: (c) => {
    const v = c.attrs.value as { dtype: DType; dims: number[] } | undefined;
    if (v && 'dims' in v) return [{ dtype: v.dtype, shape: [...v.dims] }];
    if ('value_float' in c.attrs) return [{ dtype: 'float32', shape: [] }];
    if ('value_int' in c.attrs) return [{ dtype: 'int64', shape: [] }];
    if ('value_ints' in c.attrs) return [{ dtype: 'int64', shape: [(c.attrs.value_ints as number[]).length] }];
    if ('value_floats' in c.attrs) return [{ dtype: 'float32', shape: [(c.attrs.value_floats as { floats: number[] }).floats.length] }];
    return [{ dtype: 'float32', shape: null }];
  },
  Range: (c) => [{ dtype: inp(c, 0).dtype, shape: [null] }],
  Tile: (c) => {
    const x = inp(c, 0), reps = c.constant(1);
    return [{ dtype: x.dtype, shape: x.shape && reps ? x.shape.map((d, i) => (typeof d === 'number' ? d * reps[i] : reps[i] === 1 ? d : null)) : null }];
  },
  ScatterND: same, ScatterElements: same, CumSum: same, Trilu: same,
};

const UNARY = ['Neg', 'Sqrt', 'Exp', 'Log', 'Sigmoid', 'Tanh', 'Erf', 'Relu', 'Sin', 'Cos', 'Abs', 'Reciprocal', 'Identity',
  'Softmax', 'LogSoftmax', 'Gelu', 'Dropout', 'EyeLike', 'Clip', 'Floor', 'Ceil', 'Round', 'Not', 'Sign', 'LeakyRelu', 'Elu', 'Softplus', 'HardSigmoid', 'Mish'];
for (const op of UNARY) RULES[op] = same;

/** Infers the outputs of one node; throws with a message naming the mismatch. */
export function inferNode(c: InferContext, outputs: number): ValueInfo[] {
  const rule = RULES[c.op];
  const first = c.inputs.find(Boolean);
  const res = rule ? rule(c) : [];
  while (res.length < outputs) res.push({ dtype: first?.dtype ?? 'float32', shape: null });
  return res.slice(0, outputs);
}
