/**
 * Stable Diffusion 1.5's UNet (Rombach et al., 2022: the latent diffusion UNet; diffusers'
 * UNet2DConditionModel with SD 1.5's config) built with the project's graph builder.
 *
 * Same architecture and parameter names as diffusers (conv_in, time_embedding.linear_1,
 * down_blocks.0.resnets.0.norm1, down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k, ...), so
 * the weights can be exchanged with PyTorch (scripts/gpu/torch_unet.py) and, later, real SD 1.5
 * weights could be loaded. One difference in layout: Linear weights are stored [in, out] here (x @ W),
 * [out, in] in PyTorch; sd15/weights.ts transposes on export.
 *
 * Tensor names follow SD 1.x ONNX exports: sample [B,4,H,W], timestep [B] (int64), encoder_hidden_states
 * [B,77,768] -> out_sample [B,4,H,W]. The full configuration is SD15_UNET (860M parameters); small()
 * keeps the architecture and shrinks widths so it runs in CPU tests.
 */
import { Graph, type Tensor } from '../graph/graph';
import { Sd15Layers } from './sd15/layers';

export interface Sd15UnetConfig {
  inChannels: number;
  outChannels: number;
  /** Channels per level (SD 1.5: 320, 640, 1280, 1280). */
  blockOutChannels: number[];
  /** ResNet blocks per down level (up levels have one more). SD 1.5: 2. */
  layersPerBlock: number;
  /** Which levels carry cross-attention transformers (SD 1.5: all but the deepest). */
  attentionLevels: boolean[];
  /** Attention heads (SD 1.5: 8, what diffusers calls attention_head_dim). */
  numAttentionHeads: number;
  /** Width of the text embeddings (SD 1.5: 768, CLIP ViT-L/14). */
  crossAttentionDim: number;
  normNumGroups: number;
  /** Latent height = width, fixed at build time (64 for 512x512 images). */
  sampleSize: number;
  /** Text tokens (77 for CLIP). */
  sequenceLength: number;
  /** 'matmul': softmax(QK^T/sqrt d)V from standard ops; 'mha': com.microsoft MultiHeadAttention (fused kernels in ORT). */
  attention: 'matmul' | 'mha';
}

export const SD15_UNET: Sd15UnetConfig = {
  inChannels: 4, outChannels: 4, blockOutChannels: [320, 640, 1280, 1280], layersPerBlock: 2,
  attentionLevels: [true, true, true, false], numAttentionHeads: 8, crossAttentionDim: 768,
  normNumGroups: 32, sampleSize: 64, sequenceLength: 77, attention: 'matmul',
};

/**
 * The same architecture at a smaller scale: channels = mult x (1, 2, 4, 4)[:levels], heads, context
 * width and groups scaled to fit. small() is the configuration the CPU tests run.
 */
export function scaledSd15(o: { channelMult: number; levels?: number; heads?: number; contextDim?: number; groups?: number; sampleSize?: number; sequenceLength?: number }): Sd15UnetConfig {
  const levels = o.levels ?? 4;
  if (levels < 2 || levels > 4) throw new Error(`levels must be 2..4, got ${levels}`);
  const mults = [1, 2, 4, 4].slice(0, levels);
  const cfg: Sd15UnetConfig = {
    ...SD15_UNET,
    blockOutChannels: mults.map((m) => m * o.channelMult),
    attentionLevels: mults.map((_, i) => i < levels - 1),
    numAttentionHeads: o.heads ?? 8,
    crossAttentionDim: o.contextDim ?? 768,
    normNumGroups: o.groups ?? 32,
    sampleSize: o.sampleSize ?? 64,
    sequenceLength: o.sequenceLength ?? 77,
  };
  checkConfig(cfg);
  return cfg;
}

export const small = (): Sd15UnetConfig =>
  scaledSd15({ channelMult: 32, levels: 3, heads: 2, contextDim: 48, groups: 8, sampleSize: 16, sequenceLength: 7 });

export function checkConfig(c: Sd15UnetConfig): void {
  const n = c.blockOutChannels.length;
  if (c.attentionLevels.length !== n) throw new Error(`attentionLevels has ${c.attentionLevels.length} entries for ${n} levels`);
  for (const ch of c.blockOutChannels) {
    if (ch % c.normNumGroups) throw new Error(`${ch} channels do not split into ${c.normNumGroups} groups`);
    if (ch % c.numAttentionHeads) throw new Error(`${ch} channels do not split into ${c.numAttentionHeads} heads`);
  }
  if (c.sampleSize % 2 ** (n - 1)) throw new Error(`sampleSize ${c.sampleSize} must be divisible by ${2 ** (n - 1)} (${n} levels)`);
}

/** The built graph and the node names of the float32 island (timestep features) an fp16 export keeps. */
export interface BuiltUnet {
  graph: Graph;
  config: Sd15UnetConfig;
  float32Nodes: Set<string>;
}

/**
 * Builds the UNet with seeded random weights (PyTorch's default initialisers), or with the weights of
 * an already built UNet (`weightsFrom`, e.g. the same model with the other attention variant).
 */
export function buildSd15Unet(cfg: Sd15UnetConfig, opts: { seed?: number; opset?: number; weightsFrom?: Graph } = {}): BuiltUnet {
  checkConfig(cfg);
  const g = new Graph({ opset: opts.opset ?? 21, seed: opts.seed ?? 0, name: 'sd15_unet' });
  if (cfg.attention === 'mha') g.extraOpsets.set('com.microsoft', 1);
  const u = new UnetBuilder(g, cfg, opts.weightsFrom !== undefined);
  const s = cfg.sampleSize;
  const sample = g.input('sample', 'float32', ['batch', cfg.inChannels, s, s]);
  const timestep = g.input('timestep', 'int64', ['batch']);
  const context = g.input('encoder_hidden_states', 'float32', ['batch', cfg.sequenceLength, cfg.crossAttentionDim]);
  g.output(u.forward(sample, timestep, context), 'out_sample');
  if (opts.weightsFrom) shareWeights(g, opts.weightsFrom);
  return { graph: g, config: cfg, float32Nodes: u.float32Nodes };
}

/** Points every parameter of `g` at the same-named value of `from` (no copy); shapes must agree. */
function shareWeights(g: Graph, from: Graph): void {
  for (const name of g.trainable) {
    const v = from.initializers.get(name), mine = g.initializers.get(name)!;
    if (!v || v.dims.join() !== mine.dims.join()) throw new Error(`weightsFrom has no parameter ${name} of shape [${mine.dims}]`);
    g.initializers.set(name, v);
  }
}

class UnetBuilder extends Sd15Layers {
  readonly float32Nodes = new Set<string>();
  private readonly temb: number;

  constructor(g: Graph, private readonly c: Sd15UnetConfig, placeholders = false) {
    super(g, c.normNumGroups, placeholders);
    this.temb = c.blockOutChannels[0] * 4;
  }

  /** ResnetBlock2D of the UNet: GroupNorm eps 1e-5, timestep embedding added. */
  private res(name: string, x: Tensor, emb: Tensor, cin: number, cout: number): Tensor {
    return this.resnet(name, x, cin, cout, 1e-5, { emb, dim: this.temb });
  }

  forward(sample: Tensor, timestep: Tensor, context: Tensor): Tensor {
    const { g, c } = this;
    const ch = c.blockOutChannels;
    const emb = g.scope('time_embedding', () => this.timeMlp(this.timeFeatures(timestep, ch[0])));
    let h = this.conv('conv_in', sample, c.inChannels, ch[0], 3);
    const skips: Tensor[] = [h];
    // Down path: each level's resnets (+ cross-attention), then a stride-2 conv except at the deepest.
    ch.forEach((out, i) => g.scope(`down_blocks.${i}`, () => {
      for (let j = 0; j < c.layersPerBlock; j++) {
        h = this.res(`resnets.${j}`, h, emb, j === 0 ? (i === 0 ? ch[0] : ch[i - 1]) : out, out);
        if (c.attentionLevels[i]) h = this.transformer(`attentions.${j}`, h, context, out);
        skips.push(h);
      }
      if (i < ch.length - 1) {
        h = this.conv('downsamplers.0.conv', h, out, out, 3, 2);
        skips.push(h);
      }
    }));
    const deep = ch[ch.length - 1];
    g.scope('mid_block', () => {
      h = this.res('resnets.0', h, emb, deep, deep);
      h = this.transformer('attentions.0', h, context, deep);
      h = this.res('resnets.1', h, emb, deep, deep);
    });
    // Up path: layersPerBlock + 1 resnets per level, each fed the matching skip (concatenated on C).
    const rch = [...ch].reverse(), rattn = [...c.attentionLevels].reverse();
    let prev = rch[0];
    rch.forEach((out, i) => g.scope(`up_blocks.${i}`, () => {
      for (let j = 0; j <= c.layersPerBlock; j++) {
        const skip = skips.pop()!;
        const cin = (j === 0 ? prev : out) + (skip.shape![1] as number);
        h = this.res(`resnets.${j}`, g.concat([h, skip], 1), emb, cin, out);
        if (rattn[i]) h = this.transformer(`attentions.${j}`, h, context, out);
      }
      if (i < rch.length - 1) h = this.conv('upsamplers.0.conv', g.upsample2x(h), out, out, 3);
      prev = out;
    }));
    h = g.silu(this.groupNorm('conv_norm_out', h, ch[0], 1e-5));
    return this.conv('conv_out', h, ch[0], c.outChannels, 3);
  }

  /**
   * Sinusoidal timestep features (Vaswani et al., 2017, sec. 3.5; DDPM's embedding) as SD 1.5 computes
   * them: freq_k = exp(-ln(10000) k / half), features [cos(t freq), sin(t freq)]. Kept in float32 even in
   * fp16 exports (t up to 999 times freq needs more than fp16's 11 bits), then cast.
   */
  private timeFeatures(timestep: Tensor, dim: number): Tensor {
    const { g } = this;
    const start = g.nodes.length;
    const half = dim / 2;
    const freqs = Array.from({ length: half }, (_, k) => Math.exp((-Math.log(10000) * k) / half));
    const t = g.unsqueeze(g.cast(timestep, 'float32'), [1]);
    const args = g.mul(t, g.constant(freqs, 'float32', [1, half]));
    const feats = g.concat([g.cos(args), g.sin(args)], 1);
    for (const n of g.nodes.slice(start)) this.float32Nodes.add(n.name);
    return g.cast(feats, 'float32'); // the boundary: an fp16 export turns this Cast into one to float16
  }

  private timeMlp(x: Tensor): Tensor {
    const h = this.linear('linear_1', x, this.c.blockOutChannels[0], this.temb);
    return this.linear('linear_2', this.g.silu(h), this.temb, this.temb);
  }

  /** Transformer2DModel: GroupNorm, 1x1 proj_in, one BasicTransformerBlock over H*W tokens, proj_out, residual. */
  private transformer(name: string, x: Tensor, context: Tensor, ch: number): Tensor {
    const { g } = this;
    const s = x.shape as [number | string, number, number, number];
    return g.scope(name, () => {
      const h = this.conv('proj_in', this.groupNorm('norm', x, ch, 1e-6), ch, ch, 1);
      let tokens = g.reshape(g.transpose(h, [0, 2, 3, 1]), [0, -1, ch]); // [B, H*W, C]
      tokens = g.scope('transformer_blocks.0', () => this.block(tokens, context, ch));
      const back = g.transpose(g.reshape(tokens, [0, s[2], s[3], ch]), [0, 3, 1, 2]);
      return g.add(this.conv('proj_out', back, ch, ch, 1), x);
    });
  }

  /** BasicTransformerBlock: pre-LayerNorm self-attention, cross-attention on the text, GEGLU feed-forward. */
  private block(x: Tensor, context: Tensor, ch: number): Tensor {
    const { g } = this;
    x = g.add(this.attention('attn1', this.layerNorm('norm1', x, ch), undefined, ch), x);
    x = g.add(this.attention('attn2', this.layerNorm('norm2', x, ch), context, ch), x);
    const n3 = this.layerNorm('norm3', x, ch);
    const ff = g.scope('ff.net', () => {
      // GEGLU (Shazeer, 2020): proj to 2 x 4C, split into hidden and gate, hidden * GELU(gate).
      const [hidden, gate] = g.split(this.linear('0.proj', n3, ch, 8 * ch), [4 * ch, 4 * ch], 2);
      return this.linear('2', g.mul(hidden, g.gelu(gate)), 4 * ch, ch);
    });
    return g.add(ff, x);
  }

  /** Multi-head attention (Vaswani et al., 2017, eq. 1): softmax(Q K^T / sqrt(d)) V per head. */
  private attention(name: string, x: Tensor, context: Tensor | undefined, ch: number): Tensor {
    const { g, c } = this;
    const kvIn = context ? c.crossAttentionDim : ch;
    return g.scope(name, () => {
      const q = this.linear('to_q', x, ch, ch, false);
      const k = this.linear('to_k', context ?? x, kvIn, ch, false);
      const v = this.linear('to_v', context ?? x, kvIn, ch, false);
      const o = c.attention === 'mha' ? this.fusedAttention(q, k, v) : this.plainAttention(q, k, v, ch);
      return this.linear('to_out.0', o, ch, ch);
    });
  }

  private plainAttention(q: Tensor, k: Tensor, v: Tensor, ch: number): Tensor {
    const { g } = this;
    const heads = this.c.numAttentionHeads, d = ch / heads;
    const split = (t: Tensor, perm: number[]) => g.transpose(g.reshape(t, [0, 0, heads, d]), perm);
    const qh = split(g.mul(q, 1 / Math.sqrt(d)), [0, 2, 1, 3]); // [B, h, N, d], scaled before the product
    const kt = split(k, [0, 2, 3, 1]); // [B, h, d, M]
    const p = g.softmax(g.matmul(qh, kt), -1);
    return g.reshape(g.transpose(g.matmul(p, split(v, [0, 2, 1, 3])), [0, 2, 1, 3]), [0, 0, ch]);
  }

  /** ORT's com.microsoft MultiHeadAttention: same maths, fused (flash / memory-efficient) kernels on CUDA. */
  private fusedAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
    const { g } = this;
    const [o] = g.node('MultiHeadAttention', [q, k, v], { num_heads: this.c.numAttentionHeads }, { domain: 'com.microsoft' });
    g.define(o.name, { dtype: q.dtype, shape: q.shape });
    return g.tensor(o.name);
  }
}

/** The config as JSON for scripts/gpu/torch_unet.py (snake_case, diffusers-like keys). */
export function torchConfig(c: Sd15UnetConfig): Record<string, unknown> {
  return {
    in_channels: c.inChannels, out_channels: c.outChannels, block_out_channels: c.blockOutChannels,
    layers_per_block: c.layersPerBlock, attention_levels: c.attentionLevels, num_attention_heads: c.numAttentionHeads,
    cross_attention_dim: c.crossAttentionDim, norm_num_groups: c.normNumGroups, sample_size: c.sampleSize,
  };
}
