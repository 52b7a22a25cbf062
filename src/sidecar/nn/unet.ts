/**
 * The denoiser: a two-level UNet (Ronneberger et al., 2015; Ho et al., 2020) on 8x8x4 latents, widths
 * kept equal (c) at 8x8 and 4x4 (the 64x64 family adds an outer ResBlock level for its 16x16 latents). Each level has a ResBlock that adds the timestep embedding, then a
 * transformer-style block: cross-attention to the text tokens (Rombach et al., 2022, eq. 3), then
 * self-attention. Predicts v (Salimans & Ho, 2022): v = alpha_t * eps - sigma_t * x0.
 */
import { Graph, type Tensor } from '../graph';
import { attention, conv2d, groupNorm, layerNorm, linear, zeroLinear } from './layers';
import { latentSide, type FamilyConfig } from './config';

/** Sinusoidal timestep embedding (Vaswani et al., 2017), [sin | cos] halves, then a 2-layer MLP. */
function timeEmbedding(g: Graph, cfg: FamilyConfig, t: Tensor): Tensor {
  const half = cfg.unetChannels / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.exp(-Math.log(10000) * i / half));
  const angles = g.mul(g.unsqueeze(g.cast(t, 'float32'), [1]), g.constant(freqs, 'float32', [1, half]));
  const e = g.concat([g.sin(angles), g.cos(angles)], 1);
  return linear(g, 't2', g.silu(linear(g, 't1', e, cfg.unetChannels, cfg.unetTimeDim)), cfg.unetTimeDim, cfg.unetTimeDim);
}

/**
 * The time embedding plus, with `unetPooledText`, the prompt's mean text state through Linear -> SiLU ->
 * Linear. The last layer is zero-initialised, so adding the path to a trained UNet leaves its output as
 * it was until training moves it (the 64x64 family gained it mid-run, docs/MODELS.md).
 */
function conditioning(g: Graph, cfg: FamilyConfig, t: Tensor, ctx: Tensor): Tensor {
  const te = timeEmbedding(g, cfg, t);
  if (!cfg.unetPooledText) return te;
  return g.scope('pooled_text', () => {
    const pooled = g.reduceMean(ctx, [1], false); // [B, textDim]
    const h = g.silu(linear(g, 'l1', pooled, cfg.textDim, cfg.unetTimeDim));
    return g.add(te, zeroLinear(g, 'l2', h, cfg.unetTimeDim, cfg.unetTimeDim));
  });
}

/** ResBlock: GN, SiLU, conv, + time projection; GN, SiLU, conv; residual (1x1 conv if widths differ). */
function resBlock(g: Graph, name: string, x: Tensor, temb: Tensor, cin: number, cout: number, tdim: number, zeroOut = false): Tensor {
  return g.scope(name, () => {
    let h = conv2d(g, 'c1', g.silu(groupNorm(g, 'n1', x, cin)), cin, cout, 3);
    h = g.add(h, g.unsqueeze(linear(g, 't', temb, tdim, cout), [2, 3]));
    h = conv2d(g, 'c2', g.silu(groupNorm(g, 'n2', h, cout)), cout, cout, 3, 1, zeroOut);
    const skip = cin === cout ? x : conv2d(g, 'skip', x, cin, cout, 1);
    return g.add(skip, h);
  });
}

/** Cross-attention to ctx then self-attention, both pre-norm and residual, on [B, C, H, W]. */
function attnBlock(g: Graph, name: string, h: Tensor, ctx: Tensor, c: number, cfg: FamilyConfig): Tensor {
  return g.scope(name, () => {
    const [, , hh, ww] = h.shape as number[];
    let x = g.transpose(g.reshape(h, [0, c, hh * ww]), [0, 2, 1]); // [B, HW, C]
    x = g.add(x, attention(g, 'x', layerNorm(g, 'n1', x, c), ctx, c, cfg.textDim, cfg.unetHeads));
    const y = layerNorm(g, 'n2', x, c);
    x = g.add(x, attention(g, 's', y, y, c, c, cfg.unetHeads));
    return g.reshape(g.transpose(x, [0, 2, 1]), [0, c, hh, ww]);
  });
}

/**
 * sample [B, C, S, S], timestep int64 [B], context [B, L, D] -> v prediction [B, C, S, S]: the two
 * attention levels (S and S/2), or with `unetOuterChannels` an outer ResBlock level at S around them
 * (then at S/2 and S/4).
 */
export function unet(g: Graph, cfg: FamilyConfig, x: Tensor, t: Tensor, ctx: Tensor): Tensor {
  const te = conditioning(g, cfg, t, ctx);
  const co = cfg.unetOuterChannels;
  if (!co) {
    const h = attentionLevels(g, cfg, conv2d(g, 'conv_in', x, cfg.latentChannels, cfg.unetChannels, 3), te, ctx);
    return conv2d(g, 'conv_out', g.silu(groupNorm(g, 'n_out', h, cfg.unetChannels)), cfg.unetChannels, cfg.latentChannels, 3);
  }
  const c = cfg.unetChannels, td = cfg.unetTimeDim;
  // Blocks past the first on each side start as the identity (zeroed last convolution), so a trained
  // UNet warm-starts into the deeper level computing what it did.
  const extra = (name: string, h: Tensor) => {
    for (let i = 1; i < (cfg.unetOuterBlocks ?? 1); i++) h = resBlock(g, `${name}_${i}`, h, te, co, co, td, true);
    return h;
  };
  const h0 = extra('d0', resBlock(g, 'd0', conv2d(g, 'conv_in', x, cfg.latentChannels, co, 3), te, co, co, td));
  let h = attentionLevels(g, cfg, conv2d(g, 'down0', h0, co, c, 3, 2), te, ctx);
  h = conv2d(g, 'up0', g.upsample2x(h), c, co, 3);
  h = extra('u0', resBlock(g, 'u0', g.concat([h, h0], 1), te, 2 * co, co, td));
  return conv2d(g, 'conv_out', g.silu(groupNorm(g, 'n_out', h, co)), co, cfg.latentChannels, 3);
}

/** The two attention levels of width c on [B, c, s, s] (s and s/2), with their skip connection. */
function attentionLevels(g: Graph, cfg: FamilyConfig, h0: Tensor, te: Tensor, ctx: Tensor): Tensor {
  const c = cfg.unetChannels, td = cfg.unetTimeDim;
  const h1 = attnBlock(g, 'a1', resBlock(g, 'd1', h0, te, c, c, td), ctx, c, cfg);
  const h2 = attnBlock(g, 'a2', resBlock(g, 'd2', conv2d(g, 'down', h1, c, c, 3, 2), te, c, c, td), ctx, c, cfg);
  let h = attnBlock(g, 'am', resBlock(g, 'm', h2, te, c, c, td), ctx, c, cfg);
  h = attnBlock(g, 'au2', resBlock(g, 'u2', g.concat([h, h2], 1), te, 2 * c, c, td), ctx, c, cfg);
  h = conv2d(g, 'up', g.upsample2x(h), c, c, 3);
  return attnBlock(g, 'au1', resBlock(g, 'u1', g.concat([h, h1], 1), te, 2 * c, c, td), ctx, c, cfg);
}

/** unet/model.onnx: sample, timestep (int64), encoder_hidden_states -> out_sample. */
export function unetGraph(cfg: FamilyConfig, seed = 0): Graph {
  const g = new Graph({ seed });
  const s = latentSide(cfg);
  const x = g.input('sample', 'float32', ['batch', cfg.latentChannels, s, s]);
  const t = g.input('timestep', 'int64', ['batch']);
  const ctx = g.input('encoder_hidden_states', 'float32', ['batch', cfg.length, cfg.textDim]);
  g.output(unet(g, cfg, x, t, ctx), 'out_sample');
  return g;
}
