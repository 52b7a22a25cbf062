/**
 * Gradient rules, one per op: given the node, its inputs x(i), outputs y(i) and upstream gradients
 * dy(i), return one gradient per input (null where none is needed). Elementwise, linear algebra and
 * shape ops here; convolution, normalisation, attention-related ops in grad-rules-nn.ts.
 */
import type { Graph, Tensor } from './graph';
import type { AttrValue, Node } from './types';
import { isFloat } from './types';
import { dimOf, dims, expandLike, isStatic, normAxes, rank, reshapeLike, sumTo } from './grad-helpers';

export interface GradContext {
  g: Graph;
  node: Node;
  x(i: number): Tensor;
  has(i: number): boolean;
  y(i: number): Tensor;
  dy(i: number): Tensor | null;
  needs(i: number): boolean;
  attr<T extends AttrValue>(name: string, dflt: T): T;
  float(name: string, dflt: number): number;
  constant(i: number): number[] | undefined;
}
export type GradRule = (c: GradContext) => Array<Tensor | null>;

/** Ops through which no gradient flows (their outputs are indices, shapes, masks or constants). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual',
  'Not', 'And', 'Or', 'Xor', 'NonZero', 'Range', 'ArgMax', 'ArgMin', 'Floor', 'Ceil', 'Round', 'Sign', 'EyeLike',
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Bernoulli', 'OneHot', 'IsNaN', 'IsInf',
]);

export const RULES: Record<string, GradRule> = {};
const dy0 = (c: GradContext) => c.dy(0)!;
/** Lets a rule skip work for inputs that need no gradient. */
const when = (c: GradContext, i: number, f: () => Tensor): Tensor | null => (c.needs(i) ? f() : null);

// ---- elementwise (Add ... Pow broadcast: gradients are summed back to each operand's shape) ------
Object.assign(RULES, {
  Identity: (c) => [dy0(c)],
  Dropout: (c) => [dy0(c)],
  Add: (c) => [when(c, 0, () => sumTo(c.g, dy0(c), c.x(0))), when(c, 1, () => sumTo(c.g, dy0(c), c.x(1)))],
  Sum: (c) => c.node.inputs.map((_, i) => when(c, i, () => sumTo(c.g, dy0(c), c.x(i)))),
  Sub: (c) => [when(c, 0, () => sumTo(c.g, dy0(c), c.x(0))), when(c, 1, () => sumTo(c.g, c.g.neg(dy0(c)), c.x(1)))],
  Mul: (c) => [
    when(c, 0, () => sumTo(c.g, c.g.mul(dy0(c), c.x(1)), c.x(0))),
    when(c, 1, () => sumTo(c.g, c.g.mul(dy0(c), c.x(0)), c.x(1))),
  ],
  // y = a / b: da = dy / b, db = -dy * y / b
  Div: (c) => [
    when(c, 0, () => sumTo(c.g, c.g.div(dy0(c), c.x(1)), c.x(0))),
    when(c, 1, () => sumTo(c.g, c.g.neg(c.g.div(c.g.mul(dy0(c), c.y(0)), c.x(1))), c.x(1))),
  ],
  Neg: (c) => [c.g.neg(dy0(c))],
  // y = a^b: da = dy * b * a^(b-1), db = dy * y * ln a
  Pow: (c) => {
    const { g } = c, p = c.constant(1);
    const da = () => {
      if (p?.length === 1 && p[0] === 2) return g.mul(dy0(c), g.mul(c.x(0), 2));
      const b = p?.length === 1 ? p[0] : c.x(1);
      return g.mul(dy0(c), g.mul(b, g.pow(c.x(0), typeof b === 'number' ? b - 1 : g.sub(b, 1))));
    };
    return [when(c, 0, () => sumTo(g, da(), c.x(0))), when(c, 1, () => sumTo(g, g.mul(dy0(c), g.mul(c.y(0), g.log(c.x(0)))), c.x(1)))];
  },
  Sqrt: (c) => [c.g.div(c.g.mul(dy0(c), 0.5), c.y(0))],
  Exp: (c) => [c.g.mul(dy0(c), c.y(0))],
  Log: (c) => [c.g.div(dy0(c), c.x(0))],
  Reciprocal: (c) => [c.g.neg(c.g.mul(dy0(c), c.g.mul(c.y(0), c.y(0))))],
  Abs: (c) => [c.g.mul(dy0(c), c.g.unary('Sign', c.x(0)))],
  Sigmoid: (c) => [c.g.mul(dy0(c), c.g.mul(c.y(0), c.g.sub(1, c.y(0))))],
  Tanh: (c) => [c.g.mul(dy0(c), c.g.sub(1, c.g.mul(c.y(0), c.y(0))))],
  // d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
  Erf: (c) => [c.g.mul(dy0(c), c.g.mul(c.g.exp(c.g.neg(c.g.mul(c.x(0), c.x(0)))), 2 / Math.sqrt(Math.PI)))],
  // exact GELU: d/dx [x Phi(x)] = Phi(x) + x phi(x)
  Gelu: (c) => {
    const { g } = c, x = c.x(0);
    const cdf = g.mul(g.add(g.erf(g.mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = g.mul(g.exp(g.mul(g.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [g.mul(dy0(c), g.add(cdf, g.mul(x, pdf)))];
  },
  // softplus(x) = ln(1 + e^x): d/dx = sigmoid(x)
  Softplus: (c) => [c.g.mul(dy0(c), c.g.sigmoid(c.x(0)))],
  // elu: x > 0 ? x : alpha (e^x - 1); below zero the derivative is y + alpha
  Elu: (c) => [c.g.where(c.g.greater(c.x(0), 0), dy0(c), c.g.mul(dy0(c), c.g.add(c.y(0), c.float('alpha', 1))))],
  Relu: (c) => [c.g.where(c.g.greater(c.x(0), 0), dy0(c), 0)],
  LeakyRelu: (c) => [c.g.where(c.g.greater(c.x(0), 0), dy0(c), c.g.mul(dy0(c), c.float('alpha', 0.01)))],
  Sin: (c) => [c.g.mul(dy0(c), c.g.cos(c.x(0)))],
  Cos: (c) => [c.g.neg(c.g.mul(dy0(c), c.g.sin(c.x(0))))],
  Clip: (c) => {
    const { g } = c;
    let keep: Tensor | null = null;
    if (c.has(1)) keep = g.node('GreaterOrEqual', [c.x(0), c.x(1)])[0];
    if (c.has(2)) {
      const le = g.node('LessOrEqual', [c.x(0), c.x(2)])[0];
      keep = keep ? g.node('And', [keep, le])[0] : le;
    }
    return [keep ? g.where(keep, dy0(c), 0) : dy0(c)];
  },
  Where: (c) => [
    null,
    when(c, 1, () => sumTo(c.g, c.g.where(c.x(0), dy0(c), 0), c.x(1))),
    when(c, 2, () => sumTo(c.g, c.g.where(c.x(0), 0, dy0(c)), c.x(2))),
  ],
  // Max/Min: the gradient goes to the operand that was selected (to both, halved, on ties)
  Max: (c) => selectGrad(c),
  Min: (c) => selectGrad(c),
  Cast: (c) => [isFloat(c.x(0).dtype) && isFloat(c.y(0).dtype) ? c.g.cast(dy0(c), c.x(0).dtype) : null],
  // softmax: dx = y * (dy - sum(dy * y, axis))
  Softmax: (c) => {
    const { g } = c, y = c.y(0), axis = c.attr('axis', -1);
    return [g.mul(y, g.sub(dy0(c), g.reduceSum(g.mul(dy0(c), y), [axis], true)))];
  },
  // log-softmax: dx = dy - exp(y) * sum(dy, axis)
  LogSoftmax: (c) => {
    const { g } = c, axis = c.attr('axis', -1);
    return [g.sub(dy0(c), g.mul(g.exp(c.y(0)), g.reduceSum(dy0(c), [axis], true)))];
  },
} satisfies Record<string, GradRule>);

function selectGrad(c: GradContext): Array<Tensor | null> {
  const { g } = c, y = c.y(0);
  return c.node.inputs.map((_, i) => when(c, i, () => {
    const hit = g.cast(g.equal(c.x(i), y), y.dtype);
    const ties = g.sum(c.node.inputs.map((__, j) => g.cast(g.equal(c.x(j), y), y.dtype)));
    return sumTo(g, g.div(g.mul(dy0(c), hit), ties), c.x(i));
  }));
}

// ---- linear algebra -----------------------------------------------------------------------------
/** Swaps the last two axes. */
const mT = (g: Graph, t: Tensor) => {
  const r = rank(t, 'MatMul gradient');
  return g.transpose(t, [...Array(r - 2).keys(), r - 1, r - 2]);
};

RULES.MatMul = (c) => {
  const { g } = c, a = c.x(0), b = c.x(1), dy = dy0(c);
  if (rank(a, 'MatMul') < 2 || rank(b, 'MatMul') < 2) throw new Error(`MatMul gradient: 1-D operands not supported (node ${c.node.name})`);
  const da = () => sumTo(g, g.matmul(dy, mT(g, b)), a);
  // A weight [in, out] applied to [..., in]: flatten the batch axes and use one Gemm (no batched sum).
  const db = () => {
    const k = a.shape![a.shape!.length - 1], n = b.shape![1];
    if (b.shape!.length === 2 && a.shape!.length > 2 && typeof k === 'number' && typeof n === 'number') {
      return g.gemm(g.reshape(a, [-1, k]), g.reshape(dy, [-1, n]), undefined, { transA: true });
    }
    return sumTo(g, g.matmul(mT(g, a), dy), b);
  };
  return [when(c, 0, da), when(c, 1, db)];
};

// Y = alpha A' B' + beta C with A' = transA ? A^T : A, B' = transB ? B^T : B
RULES.Gemm = (c) => {
  const { g } = c, dy = dy0(c), a = c.x(0), b = c.x(1);
  const tA = c.attr('transA', 0), tB = c.attr('transB', 0), alpha = c.float('alpha', 1), beta = c.float('beta', 1);
  const da = () => (tA ? g.gemm(b, dy, undefined, { transA: !!tB, transB: true, alpha }) : g.gemm(dy, b, undefined, { transB: !tB, alpha }));
  const db = () => (tB ? g.gemm(dy, a, undefined, { transA: true, transB: !!tA, alpha }) : g.gemm(a, dy, undefined, { transA: !tA, alpha }));
  const dc = () => sumTo(g, beta === 1 ? dy : g.mul(dy, beta), c.x(2));
  return [when(c, 0, da), when(c, 1, db), c.has(2) ? when(c, 2, dc) : null];
};

// ---- shape ops ----------------------------------------------------------------------------------
const back = (c: GradContext) => [reshapeLike(c.g, dy0(c), c.x(0))];
Object.assign(RULES, { Reshape: back, Squeeze: back, Unsqueeze: back, Flatten: back });

RULES.Transpose = (c) => {
  const r = rank(c.x(0), 'Transpose');
  const perm = c.attr<number[]>('perm', [...Array(r).keys()].reverse());
  const inv = perm.map((_, i) => perm.indexOf(i));
  return [c.g.transpose(dy0(c), inv)];
};

RULES.Expand = (c) => [sumTo(c.g, dy0(c), c.x(0))];

// Tile: y viewed as [r0, d0, r1, d1, ...]; dx sums over the repeat axes.
RULES.Tile = (c) => {
  const { g } = c, x = c.x(0), reps = c.constant(1);
  if (!reps || !isStatic(x)) throw new Error(`Tile gradient needs constant repeats and a static input shape (node ${c.node.name})`);
  const d = dims(x);
  const split = g.reshape(dy0(c), d.flatMap((n, i) => [reps[i], n]));
  return [g.reshape(g.reduceSum(split, d.map((_, i) => 2 * i), false), d), null];
};

RULES.Concat = (c) => {
  const { g } = c, n = c.node.inputs.length, r = rank(c.x(0), 'Concat');
  const axis = normAxes([c.attr('axis', 0)], r)[0];
  const xs = c.node.inputs.map((_, i) => c.x(i));
  const sizes = xs.every((x) => typeof x.shape![axis] === 'number')
    ? g.constant(xs.map((x) => x.shape![axis] as number), 'int64')
    : g.concat(xs.map((x) => dimOf(g, x, axis)), 0);
  return g.node('Split', [dy0(c), sizes], { axis }, { outputs: n });
};

RULES.Split = (c) => {
  const { g } = c, r = rank(c.x(0), 'Split');
  const axis = normAxes([c.attr('axis', 0)], r)[0];
  const parts = c.node.outputs.map((_, i) => c.dy(i) ?? zerosOf(g, c.y(i)));
  return [g.concat(parts, axis)];
};

function zerosOf(g: Graph, t: Tensor): Tensor {
  return isStatic(t) ? g.expand(g.scalar(0, t), dims(t)) : g.constantOfShape(g.shape(t), 0, t.dtype);
}

// Slice (step 1): the gradient is dy zero-padded back to the input's extent along the sliced axes.
RULES.Slice = (c) => {
  const { g } = c, x = c.x(0), r = rank(x, 'Slice');
  const starts = c.constant(1), ends = c.constant(2);
  const n = starts?.length ?? ends?.length ?? c.x(1).shape?.[0];
  if (typeof n !== 'number') throw new Error(`Slice gradient: number of sliced axes unknown (node ${c.node.name})`);
  const axes = c.has(3) ? c.constant(3) : [...Array(n).keys()];
  const steps = c.has(4) ? c.constant(4) : Array(n).fill(1);
  if (!axes || !steps) throw new Error(`Slice gradient needs constant axes and steps (node ${c.node.name})`);
  if (steps.some((s) => s !== 1)) throw new Error(`Slice gradient supports step 1 only (node ${c.node.name}, steps [${steps}])`);
  const ax = normAxes(axes, r);
  if (starts && ends && ax.every((a) => typeof x.shape![a] === 'number')) {
    const pads = Array(2 * r).fill(0);
    ax.forEach((a, i) => {
      const d = x.shape![a] as number, clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]), e = Math.max(clamp(ends[i]), s);
      pads[a] = s;
      pads[a + r] = d - e;
    });
    return [g.pad(dy0(c), pads)];
  }
  const bound = (v: number[] | undefined, i: number) => (v ? g.constant(v.map((e) => Math.max(Math.min(e, 2 ** 53), -(2 ** 53))), 'int64') : c.x(i));
  return [g.pad(dy0(c), dynamicSlicePads(g, x, r, ax, bound(starts, 1), bound(ends, 2)))];
};

/** Pads [begin..., end...] for a step-1 Slice whose bounds or sliced dims are only known at run time. */
function dynamicSlicePads(g: Graph, x: Tensor, r: number, ax: number[], starts: Tensor, ends: Tensor): Tensor {
  const d = g.gather(g.shape(x), g.constant(ax, 'int64'));
  const zero = g.constant(0, 'int64');
  const clamp = (t: Tensor) => g.max(g.min(g.where(g.less(t, zero), g.add(t, d), t), d), zero);
  const s = clamp(starts), e = g.max(clamp(ends), s);
  const idx = g.constant([...ax, ...ax.map((a) => a + r)], 'int64');
  return g.node('ScatterElements', [g.constant(Array(2 * r).fill(0), 'int64'), idx, g.concat([s, g.sub(d, e)], 0)], { axis: 0 })[0];
}

RULES.Pad = (c) => {
  const { g } = c, pads = c.constant(1), r = rank(c.x(0), 'Pad');
  const mode = c.attr('mode', 'constant');
  if (!pads || mode !== 'constant' || pads.some((p) => p < 0) || c.has(3)) throw new Error(`Pad gradient needs constant-mode, constant non-negative pads (node ${c.node.name})`);
  const BIG = 2 ** 62;
  const starts = pads.slice(0, r), ends = pads.slice(r).map((p) => (p > 0 ? -p : BIG));
  return [g.slice(dy0(c), starts, ends, [...Array(r).keys()]), null, null];
};

// Gather(data, indices, axis): scatter-add dy back into a zero tensor shaped like data.
RULES.Gather = (c) => {
  const { g } = c, data = c.x(0), idx = c.x(1), r = rank(data, 'Gather');
  const axis = normAxes([c.attr('axis', 0)], r)[0];
  if (!c.needs(0)) return [null, null];
  if (g.opset < 16) throw new Error(`Gather gradient uses ScatterND with reduction=add (opset 16+); graph opset is ${g.opset} (node ${c.node.name})`);
  const ri = rank(idx, 'Gather indices');
  let dy = dy0(c), base = data;
  const perm = [axis, ...[...Array(r).keys()].filter((a) => a !== axis)];
  if (axis !== 0) {
    // move the gathered axis (and the index axes in dy) to the front
    base = g.transpose(data, perm);
    const dyr = r - 1 + ri;
    const idxAxes = [...Array(ri).keys()].map((i) => axis + i);
    dy = g.transpose(dy, [...idxAxes, ...[...Array(dyr).keys()].filter((a) => !idxAxes.includes(a))]);
  }
  const scattered = g.node('ScatterND', [zerosOf(g, base), g.unsqueeze(idx, [-1]), dy], { reduction: 'add' })[0];
  return [axis === 0 ? scattered : g.transpose(scattered, perm.map((_, i) => perm.indexOf(i))), null];
};

// ---- reductions ---------------------------------------------------------------------------------
function reduceAxes(c: GradContext, r: number): number[] {
  const axes = c.has(1) ? c.constant(1) : c.attr<number[]>('axes', []);
  if (!axes) throw new Error(`${c.node.op} gradient needs constant axes (node ${c.node.name})`);
  return axes.length ? normAxes(axes, r) : [...Array(r).keys()];
}

/** dy of a reduction, with the reduced axes restored (size 1) and broadcast back to x. */
function unreduce(c: GradContext, dy: Tensor): Tensor {
  const x = c.x(0), r = rank(x, c.node.op);
  const keep = c.attr('keepdims', 1);
  const restored = keep ? dy : c.g.unsqueeze(dy, reduceAxes(c, r));
  return expandLike(c.g, restored, x);
}

RULES.ReduceSum = (c) => [unreduce(c, dy0(c)), null];
RULES.ReduceMean = (c) => {
  const { g } = c, x = c.x(0), y = c.y(0);
  const count = isStatic(x) && isStatic(y) ? g.size(x) / g.size(y) : g.div(g.cast(g.unary('Size', x), x.dtype), g.cast(g.unary('Size', y), x.dtype));
  return [unreduce(c, g.div(dy0(c), count)), null];
};
// ReduceMax/ReduceMin: dy to the selected elements (shared equally on ties)
function reduceSelect(c: GradContext): Array<Tensor | null> {
  const { g } = c, x = c.x(0);
  const keepY = c.attr('keepdims', 1) ? c.y(0) : g.unsqueeze(c.y(0), reduceAxes(c, rank(x, c.node.op)));
  const hit = g.cast(g.equal(x, keepY), x.dtype);
  const ties = c.g.reduceSum(hit, reduceAxes(c, rank(x, c.node.op)), true);
  return [g.div(g.mul(unreduce(c, dy0(c)), hit), ties), null];
}
RULES.ReduceMax = reduceSelect;
RULES.ReduceMin = reduceSelect;

RULES.ReduceSumSquare = (c) => [c.g.mul(unreduce(c, dy0(c)), c.g.mul(c.x(0), 2)), null];
