/** Losses as graph pieces; each returns a scalar (shape []) tensor. */
import type { Graph, Operand, Tensor } from '../graph/graph';

/** Mean over every element. */
export function mean(g: Graph, x: Tensor): Tensor {
  return g.reduceMean(x, [], false);
}

/** Mean squared error, mean over every element: the epsilon-prediction loss of DDPM (Ho et al. 2020, eq. 14). */
export function mseLoss(g: Graph, pred: Tensor, target: Tensor): Tensor {
  const d = g.sub(pred, target);
  return mean(g, g.mul(d, d));
}

/**
 * Gradient difference loss (Mathieu et al. 2016, "Deep multi-scale video prediction beyond mean square
 * error", eq. 5 with alpha = 1): the mean absolute difference between the horizontal and vertical
 * pixel differences of `pred` and `target` ([B, C, H, W]). MSE alone is minimised by a blur where the
 * decoder is unsure where an edge lies; this term pays for every edge that is missing or soft.
 */
export function gradientDifferenceLoss(g: Graph, pred: Tensor, target: Tensor): Tensor {
  const d = g.sub(pred, target);
  const along = (axis: number) => {
    const n = d.shape?.[axis];
    if (typeof n !== 'number') throw new Error(`gradientDifferenceLoss needs a fixed size on axis ${axis}`);
    return mean(g, g.abs(g.sub(g.slice(d, [1], [n], [axis]), g.slice(d, [0], [n - 1], [axis]))));
  };
  return g.add(along(2), along(3));
}

/** Rows scaled to unit L2 norm. */
export function l2normalize(g: Graph, x: Tensor, axis = -1, eps = 1e-6): Tensor {
  return g.div(x, g.sqrt(g.add(g.reduceSum(g.mul(x, x), [axis], true), eps)));
}

/**
 * Symmetric InfoNCE (CLIP, Radford et al. 2021; van den Oord et al. 2018): for a batch of matching
 * pairs (a_i, b_i) with embeddings [B, D], logits = s * norm(a) norm(b)^T and the loss is the mean of
 * the cross-entropies of rows and columns against the diagonal. `scale` is a number or a scalar tensor
 * (CLIP learns log s: pass g.exp(logScale)).
 */
export function infoNceLoss(g: Graph, a: Tensor, b: Tensor, scale: Operand = 1 / 0.07): Tensor {
  const logits = g.mul(g.matmul(l2normalize(g, a), g.transpose(l2normalize(g, b), [1, 0])), scale);
  const eye = g.unary('EyeLike', logits);
  const ce = (axis: number) => g.neg(mean(g, g.reduceSum(g.mul(g.logSoftmax(logits, axis), eye), [axis], false)));
  return g.mul(g.add(ce(1), ce(0)), 0.5);
}

/**
 * Cross-entropy of class logits [B, K] against one-hot (or soft) targets [B, K], mean over the batch:
 * -mean_b sum_k t_bk log softmax(z_b)_k.
 */
export function crossEntropyLoss(g: Graph, logits: Tensor, targets: Tensor): Tensor {
  return g.neg(mean(g, g.reduceSum(g.mul(g.logSoftmax(logits, -1), targets), [-1], false)));
}
