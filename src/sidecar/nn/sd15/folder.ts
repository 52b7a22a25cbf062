/**
 * A whole Stable Diffusion 1.5-size model folder in the diffusers ONNX layout, every component at SD
 * 1.5's architecture with seeded random weights: UNet (860 M, external data), text encoder (123 M),
 * VAE encoder and decoder (84 M together). What the full-size Imagic and distillation tests and
 * benchmarks run on (issue 15): the same files, sizes and memory as a real export, without a download.
 * The tokenizer is copied from `tokenizerDir` (a CLIP BPE tokenizer; its ids must fit 49,408 tokens).
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../graph/graph';
import { saveModel } from '../../graph/onnx';
import { buildSd15Unet, scaledSd15, SD15_UNET } from '../sd15-unet';
import { buildSd15TextEncoder, SD15_TEXT } from './text-encoder';
import { buildSd15VaeDecoder, SD15_VAE } from './vae-decoder';
import { buildSd15VaeEncoder } from './vae-encoder';

export interface Sd15FolderOptions {
  /** Latent side (64 for 512x512 images; smaller keeps tests and CPU runs short). */
  latentSize: number;
  /**
   * 'full': SD 1.5's sizes. 'small': the same architectures a few MB in all (CI tests of the code
   * paths the full-size runs take): a 32-wide UNet, a 2-layer 64-wide text encoder, a 16-32 VAE of
   * four levels (f = 8).
   */
  size?: 'full' | 'small';
  tokenizerDir: string;
  seed?: number;
  log?: (message: string) => void;
}

/** SD 1.5's scheduler_config.json (runwayml/stable-diffusion-v1-5). */
const SCHEDULER = {
  _class_name: 'PNDMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', num_train_timesteps: 1000,
  set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, clip_sample: false, prediction_type: 'epsilon',
};

export function writeSd15Folder(dir: string, o: Sd15FolderOptions): void {
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 0;
  const json = (path: string, v: unknown) => writeFileSync(join(dir, path), `${JSON.stringify(v, null, 2)}\n`);
  const save = (name: string, build: () => Graph, config: Record<string, unknown>) => {
    const t0 = performance.now();
    mkdirSync(join(dir, name), { recursive: true });
    // External data for every component: the UNet needs it (3.4 GB), the others load the same way.
    saveModel(build(), join(dir, name, 'model.onnx'), { externalData: 'model.onnx_data' });
    json(join(name, 'config.json'), config);
    log(`${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  };
  const full = (o.size ?? 'full') === 'full';
  const unet = full ? SD15_UNET : scaledSd15({ channelMult: 32, levels: 3, heads: 2, contextDim: 64, groups: 8 });
  const text = full ? SD15_TEXT : { ...SD15_TEXT, width: 64, layers: 2, heads: 4, mlp: 256 };
  const vae = { ...SD15_VAE, ...(full ? {} : { blockOutChannels: [16, 16, 32, 32], normNumGroups: 8, layersPerBlock: 1 }), latentSize: o.latentSize };
  const vaeConfig = { in_channels: 3, out_channels: 3, latent_channels: vae.latentChannels, block_out_channels: vae.blockOutChannels, layers_per_block: vae.layersPerBlock, sample_size: o.latentSize * 8, scaling_factor: 0.18215 };
  mkdirSync(dir, { recursive: true });
  save('unet', () => buildSd15Unet({ ...unet, sampleSize: o.latentSize }, { seed }).graph, { sample_size: o.latentSize, in_channels: 4, out_channels: 4, cross_attention_dim: unet.crossAttentionDim, prediction_type: 'epsilon' });
  save('text_encoder', () => buildSd15TextEncoder(text, { seed: seed + 1 }), { vocab_size: text.vocab, hidden_size: text.width, num_hidden_layers: text.layers, max_position_embeddings: text.length });
  save('vae_encoder', () => buildSd15VaeEncoder(vae, { seed: seed + 2 }), vaeConfig);
  save('vae_decoder', () => buildSd15VaeDecoder(vae, { seed: seed + 3 }), vaeConfig);
  cpSync(o.tokenizerDir, join(dir, 'tokenizer'), { recursive: true });
  mkdirSync(join(dir, 'scheduler'), { recursive: true });
  json('scheduler/scheduler_config.json', SCHEDULER);
  const ort = ['diffusers', 'OnnxRuntimeModel'];
  json('model_index.json', {
    _class_name: 'OnnxStableDiffusionPipeline', _diffusers_version: '0.30.0',
    text_encoder: ort, unet: ort, vae_decoder: ort, vae_encoder: ort,
    tokenizer: ['transformers', 'CLIPTokenizer'], scheduler: ['diffusers', 'PNDMScheduler'],
    safety_checker: [null, null], feature_extractor: [null, null], requires_safety_checker: false,
  });
}
