/**
 * Stable Diffusion 1.5's text encoder: CLIP ViT-L/14's text transformer (Radford et al., 2021) with
 * transformers' CLIPTextModel names: 49,408 tokens, 77 positions, 12 pre-norm layers of width 768
 * with 12 causal attention heads and a 3,072-wide quick-GELU MLP, final LayerNorm; 123 M weights.
 * input_ids [B, 77] (int32, as SD ONNX exports take them) -> last_hidden_state [B, 77, 768], the UNet's
 * cross-attention context. Seeded random weights, for full-size tests and benchmarks (sd15/folder.ts).
 */
import { Graph, type Tensor } from '../../graph/graph';
import { init } from '../../graph/init';
import { Sd15Layers } from './layers';

export interface Sd15TextConfig {
  vocab: number;
  length: number;
  width: number;
  layers: number;
  heads: number;
  mlp: number;
}

export const SD15_TEXT: Sd15TextConfig = { vocab: 49408, length: 77, width: 768, layers: 12, heads: 12, mlp: 3072 };

export function buildSd15TextEncoder(cfg: Sd15TextConfig, opts: { seed?: number } = {}): Graph {
  if (cfg.width % cfg.heads) throw new Error(`width ${cfg.width} does not split into ${cfg.heads} heads`);
  const g = new Graph({ seed: opts.seed ?? 0, name: 'sd15_text_encoder' });
  const ids = g.input('input_ids', 'int32', ['batch', cfg.length]);
  g.output(new TextEncoderBuilder(g, cfg).forward(ids), 'last_hidden_state');
  return g;
}

class TextEncoderBuilder extends Sd15Layers {
  constructor(g: Graph, private readonly c: Sd15TextConfig) {
    super(g, 1);
  }

  forward(ids: Tensor): Tensor {
    const { g, c } = this;
    return g.scope('text_model', () => {
      const tok = this.param('embeddings.token_embedding.weight', [c.vocab, c.width], init.normal(0.02));
      const pos = this.param('embeddings.position_embedding.weight', [c.length, c.width], init.normal(0.01));
      let x = g.add(g.gather(tok, g.cast(ids, 'int64'), 0), pos);
      // Causal: position i attends to positions <= i (CLIP's text model, and so SD's context).
      const mask: number[] = [];
      for (let i = 0; i < c.length; i++) for (let j = 0; j < c.length; j++) mask.push(j > i ? -1e9 : 0);
      const causal = g.constant(mask, 'float32', [c.length, c.length]);
      for (let i = 0; i < c.layers; i++) x = g.scope(`encoder.layers.${i}`, () => this.layer(x, causal));
      return this.layerNorm('final_layer_norm', x, c.width);
    });
  }

  private layer(x: Tensor, causal: Tensor): Tensor {
    const { g, c } = this;
    const y = g.add(x, g.scope('self_attn', () => this.attention(this.layerNorm('layer_norm1', x, c.width), causal)));
    const h = this.linear('mlp.fc1', this.layerNorm('layer_norm2', y, c.width), c.width, c.mlp);
    const quickGelu = g.mul(h, g.sigmoid(g.mul(h, 1.702)));
    return g.add(y, this.linear('mlp.fc2', quickGelu, c.mlp, c.width));
  }

  /** Multi-head attention, [B, L, D] -> [B, L, D], with an additive mask [L, L]. */
  private attention(x: Tensor, mask: Tensor): Tensor {
    const { g, c } = this;
    const d = c.width / c.heads;
    const heads = (t: Tensor) => g.transpose(g.reshape(t, [0, c.length, c.heads, d]), [0, 2, 1, 3]);
    const q = heads(this.linear('q_proj', x, c.width, c.width));
    const k = heads(this.linear('k_proj', x, c.width, c.width));
    const v = heads(this.linear('v_proj', x, c.width, c.width));
    const p = g.softmax(g.add(g.matmul(g.mul(q, 1 / Math.sqrt(d)), g.transpose(k, [0, 1, 3, 2])), mask), -1);
    const o = g.reshape(g.transpose(g.matmul(p, v), [0, 2, 1, 3]), [0, c.length, c.width]);
    return this.linear('out_proj', o, c.width, c.width);
  }
}
