/**
 * The layers Stable Diffusion 1.5's UNet and VAE decoder are made of, with diffusers' parameter names
 * (weight / bias under the caller's scope) and PyTorch's default initialisers. Shared by
 * sd15-unet.ts, sd15/vae-decoder.ts, sd15/vae-encoder.ts and sd15/text-encoder.ts.
 */
import type { Graph, Tensor } from '../../graph/graph';
import { init, type Init } from '../../graph/init';

export class Sd15Layers {
  /**
   * @param groups GroupNorm groups (32 in SD 1.5)
   * @param placeholders zeros instead of random values, for weights about to be replaced (cheap)
   */
  constructor(protected readonly g: Graph, protected readonly groups: number, protected readonly placeholders = false) {}

  protected param(name: string, dims: number[], initFn: Init): Tensor {
    return this.g.param(name, dims, this.placeholders ? init.zeros() : initFn);
  }

  /** x @ W (+ b), W stored [in, out]. */
  protected linear(name: string, x: Tensor, cin: number, cout: number, bias = true): Tensor {
    const { g } = this;
    return g.scope(name, () => {
      const w = this.param('weight', [cin, cout], init.torchDefault(cin));
      return g.linear(x, w, bias ? this.param('bias', [cout], init.torchDefault(cin)) : undefined);
    });
  }

  /** k x k convolution, 'same' padding, optional stride. */
  protected conv(name: string, x: Tensor, cin: number, cout: number, k: number, stride = 1): Tensor {
    const { g } = this;
    const fanIn = cin * k * k;
    return g.scope(name, () => {
      const w = this.param('weight', [cout, cin, k, k], init.torchDefault(fanIn));
      const b = this.param('bias', [cout], init.torchDefault(fanIn));
      const p = (k - 1) / 2;
      return g.conv(x, w, b, { strides: [stride, stride], pads: [p, p, p, p] });
    });
  }

  /**
   * GroupNorm (Wu & He, 2018) as PyTorch exports it: [B, G, -1] -> InstanceNorm -> back, then the
   * per-channel affine. Reshapes use 0 for the batch so every other dim stays static.
   */
  protected groupNorm(name: string, x: Tensor, ch: number, eps: number): Tensor {
    const { g } = this;
    const G = this.groups;
    return g.scope(name, () => {
      const scale = this.param('weight', [ch], init.ones()), bias = this.param('bias', [ch], init.zeros());
      const back = (x.shape as number[]).slice(1);
      const normed = g.instanceNorm(g.reshape(x, [0, G, -1]), g.constant(Array(G).fill(1)), g.constant(Array(G).fill(0)), eps);
      const affine = (t: Tensor) => g.reshape(t, [ch, ...Array(back.length - 1).fill(1)]);
      return g.add(g.mul(g.reshape(normed, [0, ...back]), affine(scale)), affine(bias));
    });
  }

  protected layerNorm(name: string, x: Tensor, ch: number): Tensor {
    const { g } = this;
    return g.scope(name, () => g.layerNorm(x, this.param('weight', [ch], init.ones()), this.param('bias', [ch], init.zeros())));
  }

  /**
   * ResnetBlock2D (He et al., 2016, with GroupNorm): norm, SiLU, conv, (+ projected timestep
   * embedding when `temb` is given), norm, SiLU, conv, plus a 1x1-projected shortcut if widths differ.
   */
  protected resnet(name: string, x: Tensor, cin: number, cout: number, eps: number, temb?: { emb: Tensor; dim: number }): Tensor {
    const { g } = this;
    return g.scope(name, () => {
      let h = this.conv('conv1', g.silu(this.groupNorm('norm1', x, cin, eps)), cin, cout, 3);
      if (temb) h = g.add(h, g.unsqueeze(this.linear('time_emb_proj', g.silu(temb.emb), temb.dim, cout), [2, 3]));
      h = this.conv('conv2', g.silu(this.groupNorm('norm2', h, cout, eps)), cout, cout, 3);
      const shortcut = cin === cout ? x : this.conv('conv_shortcut', x, cin, cout, 1);
      return g.add(shortcut, h);
    });
  }

  /** The VAE's mid-block attention: one head over the H*W positions, its own GroupNorm, a residual (diffusers' Attention). */
  protected vaeAttention(name: string, x: Tensor, ch: number): Tensor {
    const { g } = this;
    const s = x.shape as [number | string, number, number, number];
    return g.scope(name, () => {
      const tokens = g.reshape(g.transpose(this.groupNorm('group_norm', x, ch, 1e-6), [0, 2, 3, 1]), [0, -1, ch]);
      const q = this.linear('to_q', tokens, ch, ch), k = this.linear('to_k', tokens, ch, ch), v = this.linear('to_v', tokens, ch, ch);
      // softmax(Q K^T / sqrt(d)) V (Vaswani et al., 2017, eq. 1), d = C for one head.
      const p = g.softmax(g.matmul(g.mul(q, 1 / Math.sqrt(ch)), g.transpose(k, [0, 2, 1])), -1);
      const o = this.linear('to_out.0', g.matmul(p, v), ch, ch);
      return g.add(g.transpose(g.reshape(o, [0, s[2], s[3], ch]), [0, 3, 1, 2]), x);
    });
  }
}
