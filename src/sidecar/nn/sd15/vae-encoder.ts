/**
 * Stable Diffusion 1.5's VAE encoder (diffusers' AutoencoderKL encoder with SD 1.5's config, quant_conv
 * included): sample [B,3,512,512] -> latent_sample [B,4,64,64], the posterior mean, unscaled (what
 * image-to-image and Imagic encode the input with). Built with seeded random weights for full-size
 * tests and benchmarks (sd15/folder.ts); diffusers' parameter names.
 */
import { Graph, type Tensor } from '../../graph/graph';
import { init } from '../../graph/init';
import { Sd15Layers } from './layers';
import { checkVaeConfig, type Sd15VaeConfig } from './vae-decoder';

export function buildSd15VaeEncoder(cfg: Sd15VaeConfig, opts: { seed?: number } = {}): Graph {
  checkVaeConfig(cfg);
  const g = new Graph({ seed: opts.seed ?? 0, name: 'sd15_vae_encoder' });
  const side = cfg.latentSize * 2 ** (cfg.blockOutChannels.length - 1);
  const x = g.input('sample', 'float32', ['batch', 3, side, side]);
  g.output(new VaeEncoderBuilder(g, cfg).forward(x), 'latent_sample');
  return g;
}

class VaeEncoderBuilder extends Sd15Layers {
  constructor(g: Graph, private readonly c: Sd15VaeConfig) {
    super(g, c.normNumGroups);
  }

  forward(x: Tensor): Tensor {
    const { g, c } = this;
    const ch = c.blockOutChannels;
    const eps = 1e-6;
    const moments = g.scope('encoder', () => {
      let h = this.conv('conv_in', x, 3, ch[0], 3);
      let prev = ch[0];
      ch.forEach((out, i) => {
        for (let j = 0; j < c.layersPerBlock; j++) h = this.resnet(`down_blocks.${i}.resnets.${j}`, h, j === 0 ? prev : out, out, eps);
        if (i < ch.length - 1) h = this.downsample(`down_blocks.${i}.downsamplers.0.conv`, h, out);
        prev = out;
      });
      const top = ch[ch.length - 1];
      h = this.resnet('mid_block.resnets.0', h, top, top, eps);
      h = this.vaeAttention('mid_block.attentions.0', h, top);
      h = this.resnet('mid_block.resnets.1', h, top, top, eps);
      return this.conv('conv_out', g.silu(this.groupNorm('conv_norm_out', h, top, eps)), top, 2 * c.latentChannels, 3);
    });
    const q = this.conv('quant_conv', moments, 2 * c.latentChannels, 2 * c.latentChannels, 1);
    return g.split(q, [c.latentChannels, c.latentChannels], 1)[0]; // the mean; the log-variance is unused
  }

  /** diffusers' Downsample2D: pad right and bottom by one, then a 3x3 convolution of stride 2. */
  private downsample(name: string, x: Tensor, ch: number): Tensor {
    const { g } = this;
    return g.scope(name, () => {
      const w = this.param('weight', [ch, ch, 3, 3], init.torchDefault(ch * 9));
      const b = this.param('bias', [ch], init.torchDefault(ch * 9));
      return g.conv(g.pad(x, [0, 0, 0, 0, 0, 0, 1, 1]), w, b, { strides: [2, 2] });
    });
  }
}
