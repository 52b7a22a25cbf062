/**
 * CLIP-style text encoder (Radford et al., 2021), tiny: token + learned position embeddings, pre-norm
 * transformer blocks with bidirectional attention, final LayerNorm. Outputs Stable Diffusion's
 * `last_hidden_state` [B, L, D] (the UNet's cross-attention context) and `text_embeds` [B, E], the
 * projection of the first (<bos>) token, compared by cosine with the image encoder's `image_embeds`.
 */
import { Graph, init, type Tensor } from '../graph';
import { attention, layerNorm, linear } from './layers';
import type { FamilyConfig } from './config';

export interface TextEncoderOutputs {
  lastHiddenState: Tensor;
  textEmbeds: Tensor;
}

/** Adds the encoder to `g` for int64 ids [B, length]. */
export function textEncoder(g: Graph, cfg: FamilyConfig, ids: Tensor): TextEncoderOutputs {
  const d = cfg.textDim;
  const tok = g.param('tok.weight', [cfg.vocab, d], init.normal(0.02));
  let x = g.add(g.gather(tok, ids, 0), g.param('pos', [cfg.length, d], init.normal(0.02)));
  for (let i = 0; i < cfg.textLayers; i++) {
    x = g.scope(`blocks.${i}`, () => {
      const h = layerNorm(g, 'ln1', x, d);
      const y = g.add(x, attention(g, 'attn', h, h, d, d, cfg.textHeads));
      const mlp = linear(g, 'fc2', g.gelu(linear(g, 'fc1', layerNorm(g, 'ln2', y, d), d, 2 * d)), 2 * d, d);
      return g.add(y, mlp);
    });
  }
  const lastHiddenState = layerNorm(g, 'ln_f', x, d);
  const first = g.reshape(g.slice(lastHiddenState, [0], [1], [1]), [-1, d]);
  return { lastHiddenState, textEmbeds: linear(g, 'proj', first, d, cfg.embedDim, false) };
}

/** The shipped text_encoder/model.onnx: input_ids [B, L] -> last_hidden_state, text_embeds. */
export function textEncoderGraph(cfg: FamilyConfig, seed = 0): Graph {
  const g = new Graph({ seed });
  const ids = g.input('input_ids', 'int64', ['batch', cfg.length]);
  const out = textEncoder(g, cfg, ids);
  g.output(out.lastHiddenState, 'last_hidden_state');
  g.output(out.textEmbeds, 'text_embeds');
  return g;
}
