/**
 * CLIP-style image encoder, tiny: four 3x3 convolutions (three of stride 2: 32 -> 4 pixels), SiLU,
 * global mean pool, linear projection into the joint space. Used for the CLIP-score, the nearest
 * caption check and the FID-analogue features of `diffusion-studio eval`.
 */
import { Graph, type Tensor } from '../graph';
import { conv2d, linear, spatialMean } from './layers';
import type { FamilyConfig } from './config';

/** pixel_values [B, 3, S, S] in [-1, 1] -> { features [B, 96] (pooled), imageEmbeds [B, E] }. */
export function imageEncoder(g: Graph, cfg: FamilyConfig, x: Tensor): { features: Tensor; imageEmbeds: Tensor } {
  let h = g.silu(conv2d(g, 'c1', x, 3, 32, 3, 2));
  h = g.silu(conv2d(g, 'c2', h, 32, 64, 3, 2));
  h = g.silu(conv2d(g, 'c3', h, 64, 96, 3, 2));
  h = g.silu(conv2d(g, 'c4', h, 96, 96, 3, 1));
  const features = spatialMean(g, h);
  return { features, imageEmbeds: linear(g, 'proj', features, 96, cfg.embedDim, false) };
}

/** The shipped image_encoder/model.onnx: pixel_values -> image_embeds, features. */
export function imageEncoderGraph(cfg: FamilyConfig, seed = 0): Graph {
  const g = new Graph({ seed });
  const x = g.input('pixel_values', 'float32', ['batch', 3, cfg.imageSize, cfg.imageSize]);
  const out = imageEncoder(g, cfg, x);
  g.output(out.imageEmbeds, 'image_embeds');
  g.output(out.features, 'features');
  return g;
}
