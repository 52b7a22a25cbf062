/**
 * Writes a trained embedded model family as a diffusers-layout ONNX folder (docs/MODELS.md):
 * model_index.json, one folder per component with model.onnx (weights inline) and config.json (and,
 * if asked, model.safetensors: the training weights, graph layout), plus tokenizer/ and scheduler/.
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { saveModel, type Graph } from '../graph';
import type { EditDefaults } from '../io/model-folder';
import type { TensorValue } from '../graph/types';
import { writeSafetensors } from '../io/safetensors';
import { latentSide, type FamilyConfig } from './config';
import { textEncoderGraph } from './text-encoder';
import { imageEncoderGraph } from './image-encoder';
import { vaeDecoderGraph, vaeEncoderGraph } from './vae';
import { unetGraph } from './unet';
import { applyWeights, graphWeights } from './weights';

export const COMPONENTS = ['text_encoder', 'image_encoder', 'vae_encoder', 'vae_decoder', 'unet'] as const;
export type Component = (typeof COMPONENTS)[number];
export type FamilyWeights = Record<Component, Map<string, TensorValue>>;

/** The scheduler the UNet was trained with (Stable Diffusion's betas; v-prediction). */
export const SCHEDULER_CONFIG = {
  _class_name: 'DDIMScheduler',
  num_train_timesteps: 1000,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  beta_end: 0.012,
  prediction_type: 'v_prediction',
  timestep_spacing: 'trailing',
  steps_offset: 0,
  clip_sample: false,
  set_alpha_to_one: true,
};

/** The graph of one component, with fresh (seeded) weights. */
export function componentGraph(c: Component, cfg: FamilyConfig, seed = 0): Graph {
  switch (c) {
    case 'text_encoder': return textEncoderGraph(cfg, seed);
    case 'image_encoder': return imageEncoderGraph(cfg, seed);
    case 'vae_encoder': return vaeEncoderGraph(cfg, seed);
    case 'vae_decoder': return vaeDecoderGraph(cfg, seed);
    case 'unet': return unetGraph(cfg, seed);
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

function componentConfig(c: Component, cfg: FamilyConfig, scalingFactor: number): Record<string, unknown> {
  const latent = latentSide(cfg);
  switch (c) {
    case 'text_encoder':
      return { vocab_size: cfg.vocab, max_position_embeddings: cfg.length, hidden_size: cfg.textDim, num_hidden_layers: cfg.textLayers, num_attention_heads: cfg.textHeads, projection_dim: cfg.embedDim, outputs: ['last_hidden_state', 'text_embeds'] };
    case 'image_encoder':
      return { image_size: cfg.imageSize, projection_dim: cfg.embedDim, inputs: ['pixel_values'], outputs: ['image_embeds', 'features'], pixel_range: [-1, 1] };
    case 'vae_encoder':
    case 'vae_decoder':
      // block_out_channels: n levels = n - 1 2x resamplings, the pixel-to-latent factor readers derive.
      return { in_channels: 3, out_channels: 3, latent_channels: cfg.latentChannels, sample_size: cfg.imageSize, block_out_channels: [32, 64, 64], scaling_factor: scalingFactor };
    case 'unet':
      return { sample_size: latent, in_channels: cfg.latentChannels, out_channels: cfg.latentChannels, cross_attention_dim: cfg.textDim, block_out_channels: [...(cfg.unetOuterChannels ? [cfg.unetOuterChannels] : []), cfg.unetChannels, cfg.unetChannels], attention_head_dim: cfg.unetChannels / cfg.unetHeads, prediction_type: 'v_prediction', timestep_dtype: 'int64' };
  }
}

/** Sampling settings the generation pipeline uses when a request gives none (model_index.json). */
export interface SamplingDefaults {
  steps: number;
  guidance_scale: number;
  scheduler: string;
  /** Imagic's settings for this model (docs/IMAGIC.md, "Defaults scaled to the model"). */
  edit?: EditDefaults;
}

export interface FamilyFolder {
  dir: string;
  cfg: FamilyConfig;
  weights: FamilyWeights;
  scalingFactor: number;
  tokenizer: { tokenizer: Record<string, unknown>; config: Record<string, unknown> };
  defaults: SamplingDefaults;
  /** Model card (README.md) text. */
  card: string;
  /**
   * Also write each component's weights as model.safetensors (default false). Nothing in the sidecar
   * reads them (training, Imagic and distillation read the ONNX initializers, same names), and they
   * would double a family's size against the 40 MB budget of models/.
   */
  safetensors?: boolean;
}

/** Write (or overwrite) the whole folder; each file is written to a temp name and renamed. */
export function writeFamilyFolder(f: FamilyFolder): void {
  mkdirSync(f.dir, { recursive: true });
  for (const c of COMPONENTS) {
    const sub = join(f.dir, c);
    mkdirSync(sub, { recursive: true });
    const g = componentGraph(c, f.cfg);
    applyWeights(g, f.weights[c], c);
    saveModel(g, join(sub, 'model.onnx'));
    if (f.safetensors) writeSafetensors(join(sub, 'model.safetensors'), graphWeights(g), { layout: 'graph: linear weights [in, out]' });
    writeJson(join(sub, 'config.json'), componentConfig(c, f.cfg, f.scalingFactor));
  }
  const tok = join(f.dir, 'tokenizer');
  mkdirSync(tok, { recursive: true });
  writeJson(join(tok, 'tokenizer.json'), f.tokenizer.tokenizer);
  writeJson(join(tok, 'tokenizer_config.json'), f.tokenizer.config);
  const c = f.tokenizer.config;
  writeJson(join(tok, 'special_tokens_map.json'), { bos_token: c.bos_token, eos_token: c.eos_token, pad_token: c.pad_token, unk_token: c.unk_token });
  mkdirSync(join(f.dir, 'scheduler'), { recursive: true });
  writeJson(join(f.dir, 'scheduler', 'scheduler_config.json'), SCHEDULER_CONFIG);
  const ort = ['diffusers', 'OnnxRuntimeModel'];
  writeJson(join(f.dir, 'model_index.json'), {
    _class_name: 'OnnxStableDiffusionPipeline',
    _diffusers_version: '0.30.0',
    text_encoder: ort, unet: ort, vae_decoder: ort, vae_encoder: ort, image_encoder: ort,
    tokenizer: ['transformers', 'PreTrainedTokenizerFast'],
    scheduler: ['diffusers', 'DDIMScheduler'],
    safety_checker: [null, null], feature_extractor: [null, null], requires_safety_checker: false,
    defaults: f.defaults,
  });
  writeFileSync(join(f.dir, 'README.md'), f.card);
}
