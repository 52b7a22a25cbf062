/**
 * Shape helpers for gradient rules: each takes the static path (constants, lean graph) when shapes
 * are known and falls back to runtime Shape arithmetic when they are dynamic.
 */
import type { Graph, Tensor } from './graph';
import type { Dim } from './types';

export const isStatic = (t: Tensor): boolean => !!t.shape && t.shape.every((d) => typeof d === 'number');
export const dims = (t: Tensor): number[] => t.shape as number[];
export const rank = (t: Tensor, what: string): number => {
  if (!t.shape) throw new Error(`${what}: the rank of ${t.name} is unknown`);
  return t.shape.length;
};
const sameDim = (a: Dim, b: Dim) => a !== null && a === b;

/** Reshape `t` to the shape of `like`. */
export function reshapeLike(g: Graph, t: Tensor, like: Tensor): Tensor {
  if (like.shape && t.shape && like.shape.length === t.shape.length && like.shape.every((d, i) => sameDim(d, t.shape![i]))) return t;
  return g.refine(g.reshape(t, isStatic(like) ? dims(like) : g.shape(like)), like.shape);
}

/** Broadcast `t` to the shape of `like`. */
export function expandLike(g: Graph, t: Tensor, like: Tensor): Tensor {
  if (like.shape && t.shape && like.shape.length === t.shape.length && like.shape.every((d, i) => sameDim(d, t.shape![i]))) return t;
  return g.refine(g.expand(t, isStatic(like) ? dims(like) : g.shape(like)), like.shape);
}

/**
 * Sums a broadcast gradient back to the shape of the operand it came from (the adjoint of numpy
 * broadcasting): reduce the leading extra axes and every axis where the operand has size 1.
 */
export function sumTo(g: Graph, dy: Tensor, x: Tensor): Tensor {
  if (!dy.shape || !x.shape) return sumToDynamic(g, dy, x);
  const lead = dy.shape.length - x.shape.length;
  if (lead === 0 && x.shape.every((d, i) => sameDim(d, dy.shape![i]))) return dy;
  const axes: number[] = [];
  for (let i = 0; i < dy.shape.length; i++) {
    const xd = i < lead ? 1 : x.shape[i - lead], yd = dy.shape[i];
    if (xd === 1 && yd !== 1) axes.push(i);
    else if (!sameDim(xd, yd) && xd !== 1) return sumToDynamic(g, dy, x);
  }
  const r = axes.length ? g.reduceSum(dy, axes, true) : dy;
  return lead > 0 || axes.length ? reshapeLike(g, r, x) : r;
}

/** Runtime version: axes = where(shape(x) padded with 1s == 1 and shape(dy) != 1). */
function sumToDynamic(g: Graph, dy: Tensor, x: Tensor): Tensor {
  const sy = g.shape(dy);
  let sx = g.shape(x);
  const lead = dy.shape && x.shape ? dy.shape.length - x.shape.length : undefined;
  if (lead === undefined) throw new Error(`cannot sum gradient ${dy.name} to ${x.name}: ranks unknown`);
  if (lead > 0) sx = g.concat([g.constant(Array(lead).fill(1), 'int64'), sx], 0);
  const one = g.constant(1, 'int64');
  const mask = g.node('And', [g.equal(sx, one), g.node('Not', [g.equal(sy, one)])[0]])[0];
  const axes = g.reshape(g.node('NonZero', [mask])[0], [-1]);
  const r = g.node('ReduceSum', [dy, axes], { keepdims: 1, noop_with_empty_axes: 1 })[0];
  return g.refine(g.reshape(r, g.shape(x)), x.shape);
}

/** A 1-D int64 tensor holding dim `axis` of `t` (static constant when known). */
export function dimOf(g: Graph, t: Tensor, axis: number): Tensor {
  const d = t.shape?.[axis];
  if (typeof d === 'number') return g.constant([d], 'int64');
  return g.slice(g.shape(t), [axis], [axis + 1]);
}

/** Normalises axes against a rank. */
export const normAxes = (axes: number[], r: number): number[] => axes.map((a) => (a < 0 ? a + r : a));
