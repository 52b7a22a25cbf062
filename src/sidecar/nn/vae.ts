/**
 * A small VAE (Kingma & Welling, 2014) in Stable Diffusion's role: S x S x 3 images in [-1, 1] <-> an
 * S/4 x S/4 x 4 latent (emoji-base: 32 -> 8, the 64x64 family: 64 -> 16). Plain 3x3 convolutions with
 * SiLU; the decoder upsamples by nearest-neighbour 2x twice. (An f = 8 design with 8x8x16 latents for
 * the 64x64 family kept less at every width tried: docs/MODELS.md; its code is in commit bac6c54.)
 * The latent fed to the UNet is `scaling_factor * mean`, scaling_factor = 1 / std of the training
 * latents (Rombach et al., 2022, sec. 4.3.2), stored in vae_decoder/config.json.
 */
import { Graph, type Tensor } from '../graph';
import { conv2d } from './layers';
import { latentSide, type FamilyConfig } from './config';

/** image [B, 3, S, S] -> { mean, logvar } each [B, C, S/4, S/4]. */
export function vaeEncoder(g: Graph, cfg: FamilyConfig, x: Tensor): { mean: Tensor; logvar: Tensor } {
  let h = g.silu(conv2d(g, 'c1', x, 3, 32, 3));
  h = g.silu(conv2d(g, 'c2', h, 32, 64, 3, 2));
  h = g.silu(conv2d(g, 'c3', h, 64, 64, 3, 2));
  h = g.silu(conv2d(g, 'c4', h, 64, 64, 3));
  const moments = conv2d(g, 'out', h, 64, 2 * cfg.latentChannels, 1);
  const [mean, logvar] = g.split(moments, [cfg.latentChannels, cfg.latentChannels], 1);
  return { mean, logvar };
}

/** latent [B, C, S/4, S/4] (unscaled) -> image [B, 3, S, S] in about [-1, 1]. */
export function vaeDecoder(g: Graph, cfg: FamilyConfig, z: Tensor): Tensor {
  let h = g.silu(conv2d(g, 'c1', z, cfg.latentChannels, 64, 3));
  h = g.silu(conv2d(g, 'c2', h, 64, 64, 3));
  h = g.silu(conv2d(g, 'c3', g.upsample2x(h), 64, 32, 3));
  h = g.silu(conv2d(g, 'c4', g.upsample2x(h), 32, 32, 3));
  return conv2d(g, 'out', h, 32, 3, 3);
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
