/**
 * A small VAE (Kingma & Welling, 2014) in Stable Diffusion's role: 32x32x3 images in [-1, 1] <-> an
 * 8x8x4 latent. Plain 3x3 convolutions with SiLU; the decoder upsamples by nearest-neighbour 2x twice.
 * The latent fed to the UNet is `scaling_factor * mean`, scaling_factor = 1 / std of the training
 * latents (Rombach et al., 2022, sec. 4.3.2), stored in vae_decoder/config.json.
 */
import { Graph, type Tensor } from '../graph';
import { conv2d } from './layers';
import { latentSide, type FamilyConfig } from './config';

/** image [B, 3, S, S] -> { mean, logvar } each [B, C, S/f, S/f] (f = latentFactor). */
export function vaeEncoder(g: Graph, cfg: FamilyConfig, x: Tensor): { mean: Tensor; logvar: Tensor } {
  if (cfg.latentFactor === 8) return vaeEncoder8(g, cfg, x);
  let h = g.silu(conv2d(g, 'c1', x, 3, 32, 3));
  h = g.silu(conv2d(g, 'c2', h, 32, 64, 3, 2));
  h = g.silu(conv2d(g, 'c3', h, 64, 64, 3, 2));
  h = g.silu(conv2d(g, 'c4', h, 64, 64, 3));
  const moments = conv2d(g, 'out', h, 64, 2 * cfg.latentChannels, 1);
  const [mean, logvar] = g.split(moments, [cfg.latentChannels, cfg.latentChannels], 1);
  return { mean, logvar };
}

/** latent [B, C, S/f, S/f] (unscaled) -> image [B, 3, S, S] in about [-1, 1]. */
export function vaeDecoder(g: Graph, cfg: FamilyConfig, z: Tensor): Tensor {
  if (cfg.latentFactor === 8) return vaeDecoder8(g, cfg, z);
  let h = g.silu(conv2d(g, 'c1', z, cfg.latentChannels, 64, 3));
  h = g.silu(conv2d(g, 'c2', h, 64, 64, 3));
  h = g.silu(conv2d(g, 'c3', g.upsample2x(h), 64, 32, 3));
  h = g.silu(conv2d(g, 'c4', g.upsample2x(h), 32, 32, 3));
  return conv2d(g, 'out', h, 32, 3, 3);
}

/**
 * Widths of the f = 8 VAE's encoder per level (64, 32, 16, 8 pixels): thin where the image is large,
 * since a 3x3 convolution at 64x64 costs 64 times one at 8x8 (a first design at 32-64-128-128 with
 * residual layers at 32x32 trained at a quarter of a step per second on the shared machine).
 */
export const VAE8_WIDTHS = [24, 48, 96, 128] as const;

/**
 * The decoder's widths: wider than the encoder's at 64 and 32 pixels and with a residual layer at 32,
 * because the first design (the encoder's widths mirrored) drew outlines and thin lines soft and lost
 * the style in 4 reconstructions of 10 (docs/MODELS.md); the decoder draws those, the encoder only has
 * to keep them. Only the decoder runs at sampling time, once per image.
 */
export const VAE8_DECODER_WIDTHS = [32, 64, 128, 128] as const;

/**
 * The 64x64 family's encoder: three stride-2 convolutions (64 -> 8), each level after the first with a
 * residual 3x3. Its widths are the decoder's: with the encoder's old, thinner widths (24-48-96-128, no
 * residual at 32) a wider decoder or twice the latent channels did not lower the loss (docs/MODELS.md):
 * what the latent keeps is decided here.
 */
function vaeEncoder8(g: Graph, cfg: FamilyConfig, x: Tensor): { mean: Tensor; logvar: Tensor } {
  const [w0, w1, w2, w3] = VAE8_DECODER_WIDTHS;
  let h = g.silu(conv2d(g, 'c1', x, 3, w0, 3));
  h = g.silu(conv2d(g, 'd1', h, w0, w1, 3, 2));
  h = g.add(h, g.silu(conv2d(g, 'r1', h, w1, w1, 3)));
  h = g.silu(conv2d(g, 'd2', h, w1, w2, 3, 2));
  h = g.add(h, g.silu(conv2d(g, 'r2', h, w2, w2, 3)));
  h = g.silu(conv2d(g, 'd3', h, w2, w3, 3, 2));
  h = g.add(h, g.silu(conv2d(g, 'r3', h, w3, w3, 3)));
  const moments = conv2d(g, 'out', h, w3, 2 * cfg.latentChannels, 1);
  const [mean, logvar] = g.split(moments, [cfg.latentChannels, cfg.latentChannels], 1);
  return { mean, logvar };
}

/**
 * The 64x64 family's decoder: the encoder's levels in reverse with nearest-neighbour 2x upsampling
 * three times, and a residual 3x3 at 8, 16 and 32 pixels.
 */
function vaeDecoder8(g: Graph, cfg: FamilyConfig, z: Tensor): Tensor {
  const [w0, w1, w2, w3] = VAE8_DECODER_WIDTHS;
  let h = g.silu(conv2d(g, 'c1', z, cfg.latentChannels, w3, 3));
  h = g.add(h, g.silu(conv2d(g, 'r3', h, w3, w3, 3)));
  h = g.silu(conv2d(g, 'u3', g.upsample2x(h), w3, w2, 3));
  h = g.add(h, g.silu(conv2d(g, 'r2', h, w2, w2, 3)));
  h = g.silu(conv2d(g, 'u2', g.upsample2x(h), w2, w1, 3));
  h = g.add(h, g.silu(conv2d(g, 'r1', h, w1, w1, 3)));
  h = g.silu(conv2d(g, 'u1', g.upsample2x(h), w1, w0, 3));
  return conv2d(g, 'out', h, w0, 3, 3);
}

/** vae_encoder/model.onnx: sample [B, 3, S, S] -> latent_sample (the posterior mean, unscaled). */
export function vaeEncoderGraph(cfg: FamilyConfig, seed = 0): Graph {
  const g = new Graph({ seed });
  const x = g.input('sample', 'float32', ['batch', 3, cfg.imageSize, cfg.imageSize]);
  g.output(vaeEncoder(g, cfg, x).mean, 'latent_sample');
  return g;
}

/** vae_decoder/model.onnx: latent_sample (unscaled, i.e. divided by scaling_factor) -> sample. */
export function vaeDecoderGraph(cfg: FamilyConfig, seed = 0): Graph {
  const g = new Graph({ seed });
  const s = latentSide(cfg);
  const z = g.input('latent_sample', 'float32', ['batch', cfg.latentChannels, s, s]);
  g.output(vaeDecoder(g, cfg, z), 'sample');
  return g;
}
