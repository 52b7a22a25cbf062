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
  /** Image side in pixels, and latent channels. */
  imageSize: number;
  latentChannels: number;
  /** UNet width (both attention levels) and time-embedding width. */
  unetChannels: number;
  /**
   * Width of an outer UNet level at the full latent side, with ResBlocks only (self-attention over
   * 256 positions would cost more than the rest): for 16x16 latents it brings the two attention
   * levels to 8x8 and 4x4, where emoji-base has them. Absent: no outer level (emoji-base).
   */
  unetOuterChannels?: number;
  /**
   * ResBlocks on each side of the outer level (default 1). Those past the first start as the identity,
   * so a trained UNet can be deepened there and fine-tuned (scripts/train-subset.ts --outer-blocks).
   */
  unetOuterBlocks?: number;
  /**
   * Adds the mean of the text states to the time embedding, so every ResBlock (the outer 16x16 level
   * included, which has no cross-attention) sees the prompt as a global signal: class conditioning as in
   * ADM (Dhariwal & Nichol 2021), pooled text as in Imagen and SDXL. Its last layer starts at zero.
   * Absent: the prompt reaches the UNet only through cross-attention (emoji-base).
   */
  unetPooledText?: boolean;
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

/** The latent side of a family: the VAE's two 2x resamplings make it imageSize / 4. */
export function latentSide(cfg: Pick<FamilyConfig, 'imageSize'>): number {
  return cfg.imageSize / 4;
}

/**
 * The 64x64 multi-style family (issue 13): 64x64 RGB through emoji-base's VAE design into 16x16x4
 * latents (the same 12x compression as emoji-base's 8x8x4 of 32x32; an f = 8 VAE into 8x8x16 lost
 * outlines and style at every width tried, docs/MODELS.md). The UNet gets an outer 16x16 ResBlock
 * level of width 64 around emoji-base's two attention levels, here at 8x8 and 4x4 and width 128: 3.4 M
 * parameters, 1.5x the step time of the same UNet on 8x8 latents (`npm run bench:train`,
 * docs/BENCHMARKS.md).
 */
export const EMOJI_STYLES_64: Omit<FamilyConfig, 'vocab'> = {
  length: 16,
  textDim: 64,
  textLayers: 2,
  textHeads: 4,
  embedDim: 64,
  imageSize: 64,
  latentChannels: 4,
  unetChannels: 128,
  unetOuterChannels: 64,
  unetPooledText: true,
  unetTimeDim: 256,
  unetHeads: 4,
};
