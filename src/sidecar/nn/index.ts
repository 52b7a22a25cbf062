/** The embedded model family's architectures (models/emoji-base); see docs/MODELS.md. */
export { EMOJI_BASE, EMOJI_STYLES_64, latentSide, type FamilyConfig } from './config';
export { textEncoder, textEncoderGraph } from './text-encoder';
export { imageEncoder, imageEncoderGraph } from './image-encoder';
export { vaeEncoder, vaeDecoder, vaeEncoderGraph, vaeDecoderGraph } from './vae';
export { unet, unetGraph } from './unet';
