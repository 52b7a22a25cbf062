/**
 * Sizes of the embedded model family (models/emoji-base). One object so the trainer, the exporter and
 * the PyTorch reference (scripts/train/reference.py, which must match by hand) agree.
 */
export interface FamilyConfig {
  /** Tokenizer vocabulary size. */
  vocab: number;
  /** Prompt length in tokens (tokenizer model_max_length). */
  length: number;
  /** Text width: last_hidden_state is [B, length, textDim]; also the UNet's cross-attention context. */
  textDim: number;
  textLayers: number;
  textHeads: number;
  /** Width of the joint (CLIP) embedding space: text_embeds and image_embeds. */
  embedDim: number;
  /** Image side in pixels and latent side (image / 4) and channels. */
  imageSize: number;
  latentChannels: number;
  /** UNet width (both levels) and time-embedding width. */
  unetChannels: number;
  unetTimeDim: number;
  unetHeads: number;
}

export const EMOJI_BASE: Omit<FamilyConfig, 'vocab'> = {
  length: 16,
  textDim: 64,
  textLayers: 2,
  textHeads: 4,
  embedDim: 64,
  imageSize: 32,
  latentChannels: 4,
  unetChannels: 64,
  unetTimeDim: 128,
  unetHeads: 4,
};
