/**
 * Optimisers, gradient clipping, EMA and learning-rate schedules as graph pieces. They work on the
 * flat parameter vector of a training step (train-step.ts): a handful of elementwise nodes in all,
 * whatever the number of parameter tensors.
 */
import type { Graph, Tensor } from '../graph/graph';

export type Schedule =
  | { type: 'constant'; lr: number }
  /** Linear warm-up to `lr` over `warmup` steps, then cosine decay to `minLr` at `total` (Loshchilov & Hutter 2017). */
  | { type: 'cosine'; lr: number; warmup: number; total: number; minLr?: number };

export type Optimizer =
  | { type: 'sgd'; lr: number | Schedule; momentum?: number; weightDecay?: number }
  | { type: 'adam' | 'adamw'; lr: number | Schedule; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

/** Learning rate at step t (1-based, float scalar tensor). */
export function learningRate(g: Graph, s: number | Schedule, t: Tensor): Tensor {
  const sched: Schedule = typeof s === 'number' ? { type: 'constant', lr: s } : s;
  if (sched.type === 'constant') return g.scalar(sched.lr, t);
  const { lr, warmup, total } = sched, minLr = sched.minLr ?? 0;
  const warm = g.mul(t, lr / Math.max(warmup, 1));
  const progress = g.node('Clip', [g.div(g.sub(t, warmup), Math.max(total - warmup, 1)), g.scalar(0, t), g.scalar(1, t)])[0];
  const cosine = g.add(g.mul(g.add(g.cos(g.mul(progress, Math.PI)), 1), 0.5 * (lr - minLr)), minLr);
  return g.where(g.less(t, warmup), warm, cosine);
}

/** Optimiser state slots, each the size of the flat parameter vector. */
export function stateSlots(o: Optimizer): string[] {
  if (o.type === 'sgd') return o.momentum ? ['momentum'] : [];
  return ['adam_m', 'adam_v'];
}

/**
 * One update. p: parameters, grad: gradient, state: slot tensors (stateSlots order), t: step (1-based).
 * Returns the new parameters and the new slot values.
 */
export function optimizerUpdate(g: Graph, o: Optimizer, p: Tensor, grad: Tensor, state: Tensor[], t: Tensor): { params: Tensor; state: Tensor[] } {
  const lr = learningRate(g, o.lr, t), wd = o.weightDecay ?? 0;
  if (o.type === 'sgd') {
    const gr = wd ? g.add(grad, g.mul(p, wd)) : grad;
    if (!o.momentum) return { params: g.sub(p, g.mul(gr, lr)), state: [] };
    const buf = g.add(g.mul(state[0], o.momentum), gr); // PyTorch's SGD momentum (dampening 0)
    return { params: g.sub(p, g.mul(buf, lr)), state: [buf] };
  }
  // Adam (Kingma & Ba 2015, Algorithm 1); AdamW decouples the weight decay (Loshchilov & Hutter 2019).
  const b1 = o.beta1 ?? 0.9, b2 = o.beta2 ?? 0.999, eps = o.eps ?? 1e-8;
  const gr = o.type === 'adam' && wd ? g.add(grad, g.mul(p, wd)) : grad;
  const m = g.add(g.mul(state[0], b1), g.mul(gr, 1 - b1));
  const v = g.add(g.mul(state[1], b2), g.mul(g.mul(gr, gr), 1 - b2));
  // bias corrections folded into scalars: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
  const bc1 = g.sub(1, g.pow(g.scalar(b1, t), t)), bc2 = g.sqrt(g.sub(1, g.pow(g.scalar(b2, t), t)));
  const stepSize = g.div(lr, bc1);
  const denom = g.add(g.div(g.sqrt(v), bc2), eps);
  let next = g.sub(p, g.mul(g.div(m, denom), stepSize));
  if (o.type === 'adamw' && wd) next = g.sub(next, g.mul(p, g.mul(lr, wd)));
  return { params: next, state: [m, v] };
}

/** Global-norm clipping (Pascanu et al. 2013): g * min(1, maxNorm / ||g||). Returns the clipped gradient and the norm. */
export function clipGlobalNorm(g: Graph, grad: Tensor, maxNorm: number): { grad: Tensor; norm: Tensor } {
  const norm = g.sqrt(g.node('ReduceSumSquare', [grad], { keepdims: 0 })[0]);
  const coef = g.min(g.div(g.scalar(maxNorm, grad), g.add(norm, 1e-6)), 1);
  return { grad: g.mul(grad, coef), norm };
}

/** Exponential moving average of weights: ema <- decay * ema + (1 - decay) * p. */
export function emaUpdate(g: Graph, ema: Tensor, p: Tensor, decay: number): Tensor {
  return g.add(g.mul(ema, decay), g.mul(p, 1 - decay));
}
