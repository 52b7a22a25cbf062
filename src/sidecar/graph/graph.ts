/**
 * `Graph`: the builder the models are written with. One method per op; shapes and types are checked
 * as each node is added (see shapes.ts). Numbers are accepted where a tensor is expected and become
 * scalar constants of the other operand's type.
 */
import { GraphCore, type Operand, type Tensor } from './core';
import { ONNX_DTYPE, type DType, type Dim } from './types';

export type { Tensor, Operand } from './core';
export { weightNames } from './core';
export const f = (v: number) => ({ float: v });

export interface ConvOptions {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
}

export class Graph extends GraphCore {
  // ---- elementwise -------------------------------------------------------------------------------
  private bin(op: string, a: Operand, b: Operand): Tensor {
    const like = typeof a === 'number' ? (b as Tensor) : a;
    return this.node(op, [this.operand(a, like), this.operand(b, like)])[0];
  }
  add(a: Operand, b: Operand): Tensor { return this.bin('Add', a, b); }
  sub(a: Operand, b: Operand): Tensor { return this.bin('Sub', a, b); }
  mul(a: Operand, b: Operand): Tensor { return this.bin('Mul', a, b); }
  div(a: Operand, b: Operand): Tensor { return this.bin('Div', a, b); }
  pow(a: Operand, b: Operand): Tensor { return this.bin('Pow', a, b); }
  max(a: Operand, b: Operand): Tensor { return this.bin('Max', a, b); }
  min(a: Operand, b: Operand): Tensor { return this.bin('Min', a, b); }
  equal(a: Operand, b: Operand): Tensor { return this.bin('Equal', a, b); }
  less(a: Operand, b: Operand): Tensor { return this.bin('Less', a, b); }
  greater(a: Operand, b: Operand): Tensor { return this.bin('Greater', a, b); }
  /** Sums any number of tensors (one Sum node; Add for two). */
  sum(xs: Tensor[]): Tensor { return xs.length === 1 ? xs[0] : xs.length === 2 ? this.add(xs[0], xs[1]) : this.node('Sum', xs)[0]; }

  unary(op: string, x: Tensor, attrs = {}): Tensor { return this.node(op, [x], attrs)[0]; }
  neg(x: Tensor): Tensor { return this.unary('Neg', x); }
  sqrt(x: Tensor): Tensor { return this.unary('Sqrt', x); }
  exp(x: Tensor): Tensor { return this.unary('Exp', x); }
  log(x: Tensor): Tensor { return this.unary('Log', x); }
  abs(x: Tensor): Tensor { return this.unary('Abs', x); }
  reciprocal(x: Tensor): Tensor { return this.unary('Reciprocal', x); }
  sigmoid(x: Tensor): Tensor { return this.unary('Sigmoid', x); }
  tanh(x: Tensor): Tensor { return this.unary('Tanh', x); }
  erf(x: Tensor): Tensor { return this.unary('Erf', x); }
  relu(x: Tensor): Tensor { return this.unary('Relu', x); }
  sin(x: Tensor): Tensor { return this.unary('Sin', x); }
  cos(x: Tensor): Tensor { return this.unary('Cos', x); }
  identity(x: Tensor): Tensor { return this.unary('Identity', x); }
  /** SiLU / swish: x * sigmoid(x). */
  silu(x: Tensor): Tensor { return this.mul(x, this.sigmoid(x)); }
  /** Exact GELU (Hendrycks & Gimpel): 0.5 x (1 + erf(x / sqrt 2)), as PyTorch exports it. */
  gelu(x: Tensor): Tensor { return this.mul(this.mul(x, 0.5), this.add(this.erf(this.mul(x, Math.SQRT1_2)), 1)); }
  softmax(x: Tensor, axis = -1): Tensor { return this.unary('Softmax', x, { axis }); }
  logSoftmax(x: Tensor, axis = -1): Tensor { return this.unary('LogSoftmax', x, { axis }); }
  where(cond: Tensor, a: Operand, b: Operand): Tensor {
    const like = typeof a === 'number' ? (b as Tensor) : a;
    return this.node('Where', [cond, this.operand(a, like), this.operand(b, like)])[0];
  }
  cast(x: Tensor, to: DType): Tensor { return this.unary('Cast', x, { to: ONNX_DTYPE[to] }); }

  // ---- linear algebra ----------------------------------------------------------------------------
  matmul(a: Tensor, b: Tensor): Tensor { return this.node('MatMul', [a, b])[0]; }
  gemm(a: Tensor, b: Tensor, c?: Tensor, o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Tensor {
    const attrs = { transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0, alpha: f(o.alpha ?? 1), beta: f(o.beta ?? 1) };
    return this.node('Gemm', c ? [a, b, c] : [a, b], attrs)[0];
  }
  /** x @ w (+ b): w is [in, out], x is [..., in]. */
  linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
    const y = this.matmul(x, w);
    return b ? this.add(y, b) : y;
  }
  einsum(equation: string, ...xs: Tensor[]): Tensor { return this.node('Einsum', xs, { equation })[0]; }
  conv(x: Tensor, w: Tensor, b?: Tensor, o: ConvOptions = {}): Tensor {
    const k = (w.shape ?? []).length - 2;
    const attrs = {
      strides: o.strides ?? Array(k).fill(1), pads: o.pads ?? Array(2 * k).fill(0),
      dilations: o.dilations ?? Array(k).fill(1), group: o.group ?? 1,
    };
    return this.node('Conv', b ? [x, w, b] : [x, w], attrs)[0];
  }
  convTranspose(x: Tensor, w: Tensor, b?: Tensor, o: ConvOptions & { outputPadding?: number[] } = {}): Tensor {
    const k = (w.shape ?? []).length - 2;
    const attrs = {
      strides: o.strides ?? Array(k).fill(1), pads: o.pads ?? Array(2 * k).fill(0), group: o.group ?? 1,
      dilations: o.dilations ?? Array(k).fill(1), output_padding: o.outputPadding ?? Array(k).fill(0),
    };
    return this.node('ConvTranspose', b ? [x, w, b] : [x, w], attrs)[0];
  }

  // ---- normalisation -----------------------------------------------------------------------------
  layerNorm(x: Tensor, scale: Tensor, bias?: Tensor, o: { axis?: number; epsilon?: number } = {}): Tensor {
    const inputs = bias ? [x, scale, bias] : [x, scale];
    return this.node('LayerNormalization', inputs, { axis: o.axis ?? -1, epsilon: f(o.epsilon ?? 1e-5) })[0];
  }
  instanceNorm(x: Tensor, scale: Tensor, bias: Tensor, epsilon = 1e-5): Tensor {
    return this.node('InstanceNormalization', [x, scale, bias], { epsilon: f(epsilon) })[0];
  }
  /**
   * GroupNorm (Wu & He, 2018) on [N, C, ...] as PyTorch exports it: Reshape to [N, G, -1],
   * InstanceNormalization, Reshape back, then the per-channel affine (scale, bias of shape [C]).
   */
  groupNorm(x: Tensor, groups: number, scale: Tensor, bias: Tensor, epsilon = 1e-5): Tensor {
    const c = x.shape?.[1];
    if (typeof c === 'number' && c % groups) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
    const grouped = this.reshape(x, [0, groups, -1]);
    const ones = this.constant(Array(groups).fill(1), x.dtype), zeros = this.constant(Array(groups).fill(0), x.dtype);
    const normed = this.instanceNorm(grouped, ones, zeros, epsilon);
    const back = x.shape && x.shape.every((d) => typeof d === 'number') ? this.reshape(normed, x.shape as number[]) : this.reshape(normed, this.shape(x));
    const rank = x.shape?.length ?? 4;
    const bshape = [c ?? -1, ...Array(rank - 2).fill(1)] as number[];
    return this.add(this.mul(back, this.reshape(scale, bshape)), this.reshape(bias, bshape));
  }

  // ---- shape ops ---------------------------------------------------------------------------------
  private ints(v: readonly number[] | Tensor): Tensor {
    return Array.isArray(v) ? this.constant(v as number[], 'int64') : (v as Tensor);
  }
  shape(x: Tensor): Tensor { return this.unary('Shape', x); }
  /** Reshape; 0 copies the input dim, -1 infers one dim. */
  reshape(x: Tensor, dims: readonly number[] | Tensor): Tensor { return this.node('Reshape', [x, this.ints(dims)])[0]; }
  transpose(x: Tensor, perm: number[]): Tensor { return this.unary('Transpose', x, { perm }); }
  concat(xs: Tensor[], axis: number): Tensor { return this.node('Concat', xs, { axis })[0]; }
  slice(x: Tensor, starts: number[], ends: number[], axes?: number[], steps?: number[]): Tensor {
    const ins = [x, this.ints(starts), this.ints(ends)];
    if (axes || steps) ins.push(this.ints(axes ?? starts.map((_, i) => i)));
    if (steps) ins.push(this.ints(steps));
    return this.node('Slice', ins)[0];
  }
  split(x: Tensor, sizes: number[], axis: number): Tensor[] {
    return this.node('Split', [x, this.ints(sizes)], { axis }, { outputs: sizes.length });
  }
  squeeze(x: Tensor, axes: number[]): Tensor { return this.node('Squeeze', [x, this.ints(axes)])[0]; }
  unsqueeze(x: Tensor, axes: number[]): Tensor { return this.node('Unsqueeze', [x, this.ints(axes)])[0]; }
  expand(x: Tensor, dims: readonly number[] | Tensor): Tensor { return this.node('Expand', [x, this.ints(dims)])[0]; }
  gather(data: Tensor, indices: Tensor, axis = 0): Tensor { return this.node('Gather', [data, indices], { axis })[0]; }
  /** Nearest-neighbour resize by per-axis scales ([1, 1, 2, 2] = 2x upsample of NCHW). */
  resizeNearest(x: Tensor, scales: number[]): Tensor {
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    return this.node('Resize', [x, null, this.constant(scales, 'float32')], attrs)[0];
  }
  upsample2x(x: Tensor): Tensor { return this.resizeNearest(x, [1, 1, 2, 2]); }
  pad(x: Tensor, pads: readonly number[] | Tensor, value = 0): Tensor {
    return this.node('Pad', [x, this.ints(pads), this.scalar(value, x)], { mode: 'constant' })[0];
  }
  constantOfShape(dims: Tensor, value: number, dtype: DType = 'float32'): Tensor {
    const v = { dtype, dims: [1], data: dtype === 'int64' ? new BigInt64Array([BigInt(value)]) : dtype === 'float64' ? new Float64Array([value]) : new Float32Array([value]) };
    return this.node('ConstantOfShape', [dims], { value: v })[0];
  }

  // ---- reductions --------------------------------------------------------------------------------
  private reduce(op: string, x: Tensor, axes: number[], keepdims: boolean): Tensor {
    const asInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    const attrs = { keepdims: keepdims ? 1 : 0, ...(asInput ? {} : { axes }) };
    return this.node(op, asInput ? [x, this.ints(axes)] : [x], attrs)[0];
  }
  reduceMean(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceMean', x, axes, keepdims); }
  reduceSum(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceSum', x, axes, keepdims); }
  reduceMax(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceMax', x, axes, keepdims); }

  /** Number of elements of a fully static tensor. */
  size(x: Tensor): number {
    if (!x.shape || x.shape.some((d: Dim) => typeof d !== 'number')) throw new Error(`${x.name} has no static size`);
    return (x.shape as number[]).reduce((a, b) => a * b, 1);
  }
}
