/**
 * Layers shared by the embedded models, written on the graph builder. Parameter names follow the
 * PyTorch reference (scripts/train/reference.py) so weights move between the two by name; linear
 * weights are stored [in, out] as the builder's `linear` expects (PyTorch's `weight.T`).
 */
import { Graph, init, type Tensor } from '../graph';

/** y = x W + b with W [in, out]; PyTorch's default init. */
export function linear(g: Graph, name: string, x: Tensor, cin: number, cout: number, bias = true): Tensor {
  return g.scope(name, () => g.linear(
    x,
    g.param('weight', [cin, cout], init.torchDefault(cin)),
    bias ? g.param('bias', [cout], init.torchDefault(cin)) : undefined,
  ));
}

/** y = x W + b with W and b starting at zero: a new branch added to a trained model leaves its output as it was. */
export function zeroLinear(g: Graph, name: string, x: Tensor, cin: number, cout: number): Tensor {
  return g.scope(name, () => g.linear(x, g.param('weight', [cin, cout], init.zeros()), g.param('bias', [cout], init.zeros())));
}

/**
 * 2-D convolution with "same" padding for odd kernels (k // 2), optional stride; `zero` starts its
 * weights and bias at zero (the last layer of a branch added to a trained model).
 */
export function conv2d(g: Graph, name: string, x: Tensor, cin: number, cout: number, k: number, stride = 1, zero = false): Tensor {
  const fanIn = cin * k * k;
  const p = Math.floor(k / 2);
  return g.scope(name, () => g.conv(
    x,
    g.param('weight', [cout, cin, k, k], zero ? init.zeros() : init.torchDefault(fanIn)),
    g.param('bias', [cout], zero ? init.zeros() : init.torchDefault(fanIn)),
    { strides: [stride, stride], pads: [p, p, p, p] },
  ));
}

/** GroupNorm (Wu & He, 2018) over NCHW with learned per-channel scale and shift. */
export function groupNorm(g: Graph, name: string, x: Tensor, c: number, groups = 8): Tensor {
  return g.scope(name, () => g.groupNorm(x, groups, g.param('weight', [c], init.ones()), g.param('bias', [c], init.zeros())));
}

/** LayerNorm (Ba et al., 2016) over the last axis. */
export function layerNorm(g: Graph, name: string, x: Tensor, d: number): Tensor {
  return g.scope(name, () => g.layerNorm(x, g.param('weight', [d], init.ones()), g.param('bias', [d], init.zeros())));
}

/**
 * Multi-head attention (Vaswani et al., 2017, eq. 1): softmax(Q K^T / sqrt(d)) V per head, queries
 * from x [B, N, c], keys and values from ctx [B, M, cc]; self-attention when ctx = x. No masks: the
 * text encoder attends over its padding too, as Stable Diffusion's UNet does over CLIP's padding.
 */
export function attention(g: Graph, name: string, x: Tensor, ctx: Tensor, c: number, cc: number, heads: number): Tensor {
  const d = c / heads;
  return g.scope(name, () => {
    const split = (t: Tensor) => g.transpose(g.reshape(t, [0, 0, heads, d]), [0, 2, 1, 3]); // [B, h, N, d]
    const q = split(linear(g, 'q', x, c, c, false));
    const k = split(linear(g, 'k', ctx, cc, c, false));
    const v = split(linear(g, 'v', ctx, cc, c, false));
    const scores = g.mul(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(d));
    const out = g.matmul(g.softmax(scores, -1), v); // [B, h, N, d]
    const merged = g.reshape(g.transpose(out, [0, 2, 1, 3]), [0, 0, c]);
    return linear(g, 'o', merged, c, c);
  });
}

/** Mean over the spatial axes of NCHW: [B, C, H, W] -> [B, C]. */
export function spatialMean(g: Graph, x: Tensor): Tensor {
  return g.reduceMean(x, [2, 3], false);
}
