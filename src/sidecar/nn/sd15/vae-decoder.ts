/**
 * Stable Diffusion 1.5's VAE decoder (Rombach et al., 2022; diffusers' AutoencoderKL decoder with SD
 * 1.5's config, post_quant_conv included, as SD ONNX exports' vae_decoder has it): latent_sample
 * [B,4,64,64] -> sample [B,3,512,512]. Timed on the GPU machine to turn "50 UNet steps" into a whole
 * 50-step image. diffusers' parameter names, so PyTorch (scripts/gpu/torch_unet.py) loads the weights.
 */
import { Graph, type Tensor } from '../../graph/graph';
import { Sd15Layers } from './layers';

export interface Sd15VaeConfig {
  latentChannels: number;
  outChannels: number;
  /** Encoder order, as diffusers lists them (SD 1.5: 128, 256, 512, 512); the decoder runs them reversed. */
  blockOutChannels: number[];
  /** The decoder has layersPerBlock + 1 resnets per level. */
  layersPerBlock: number;
  normNumGroups: number;
  /** Latent height = width (64 for 512x512 images). */
  latentSize: number;
}

export const SD15_VAE: Sd15VaeConfig = { latentChannels: 4, outChannels: 3, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, normNumGroups: 32, latentSize: 64 };

/** The same architecture, small enough for CPU tests. */
export const smallVae = (): Sd15VaeConfig => ({ ...SD15_VAE, blockOutChannels: [16, 32], normNumGroups: 8, latentSize: 8 });

/** Throws when a level's width does not split into the GroupNorm groups. */
export function checkVaeConfig(cfg: Sd15VaeConfig): void {
  for (const c of cfg.blockOutChannels) if (c % cfg.normNumGroups) throw new Error(`${c} channels do not split into ${cfg.normNumGroups} groups`);
}

export function buildSd15VaeDecoder(cfg: Sd15VaeConfig, opts: { seed?: number } = {}): Graph {
  checkVaeConfig(cfg);
  const g = new Graph({ seed: opts.seed ?? 0, name: 'sd15_vae_decoder' });
  const z = g.input('latent_sample', 'float32', ['batch', cfg.latentChannels, cfg.latentSize, cfg.latentSize]);
  g.output(new VaeDecoderBuilder(g, cfg).forward(z), 'sample');
  return g;
}

class VaeDecoderBuilder extends Sd15Layers {
  constructor(g: Graph, private readonly c: Sd15VaeConfig) {
    super(g, c.normNumGroups);
  }

  forward(z: Tensor): Tensor {
    const { g, c } = this;
    const ch = [...c.blockOutChannels].reverse();
    const eps = 1e-6;
    let h = this.conv('post_quant_conv', z, c.latentChannels, c.latentChannels, 1);
    return g.scope('decoder', () => {
      h = this.conv('conv_in', h, c.latentChannels, ch[0], 3);
      h = this.resnet('mid_block.resnets.0', h, ch[0], ch[0], eps);
      h = this.vaeAttention('mid_block.attentions.0', h, ch[0]);
      h = this.resnet('mid_block.resnets.1', h, ch[0], ch[0], eps);
      let prev = ch[0];
      ch.forEach((out, i) => {
        for (let j = 0; j <= c.layersPerBlock; j++) h = this.resnet(`up_blocks.${i}.resnets.${j}`, h, j === 0 ? prev : out, out, eps);
        if (i < ch.length - 1) h = this.conv(`up_blocks.${i}.upsamplers.0.conv`, g.upsample2x(h), out, out, 3);
        prev = out;
      });
      const last = c.blockOutChannels[0];
      return this.conv('conv_out', g.silu(this.groupNorm('conv_norm_out', h, last, eps)), last, c.outChannels, 3);
    });
  }
}

/** The config as JSON for scripts/gpu/torch_unet.py. */
export function torchVaeConfig(c: Sd15VaeConfig): Record<string, unknown> {
  return {
    model: 'vae_decoder', latent_channels: c.latentChannels, out_channels: c.outChannels, block_out_channels: c.blockOutChannels,
    layers_per_block: c.layersPerBlock, norm_num_groups: c.normNumGroups, sample_size: c.latentSize,
  };
}
