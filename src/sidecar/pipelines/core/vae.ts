/**
 * The VAE at both ends of latent diffusion (Rombach et al. 2022): the encoder maps pixels in [-1, 1] to a
 * latent that is multiplied by scaling_factor (so the UNet sees unit variance), the decoder maps
 * latent / scaling_factor back to pixels. Used by every pipeline that starts from or ends in pixels.
 */
import { encodePng, tensorToRgb } from '../../io/images';
import type { OpenModel } from '../model-sessions';
import { floatTensor, readFloats } from '../tensors';
import { timedRun, type OrtTimer } from './timed-run';

/** Decoded pixels [n, 3, height, width] in [-1, 1] (unclamped). */
export interface Pixels {
  data: Float32Array;
  count: number;
  height: number;
  width: number;
}

/** Latents [n, C, h, w] (as the UNet sees them) to pixels. */
export async function decodeLatents(model: OpenModel, latents: Float32Array, shape: readonly number[], timer?: OrtTimer): Promise<Pixels> {
  const n = latents.length / (shape[0] * shape[1] * shape[2]);
  const scaled = latents.map((x) => x / model.folder.scalingFactor);
  const out = (await timedRun(model.vaeDecoder, { latent_sample: floatTensor(model.vaeDecoderFloat, scaled, [n, ...shape]) }, timer)).sample;
  return { data: readFloats(out), count: n, height: out.dims[2], width: out.dims[3] };
}

/** Pixels [1, 3, height, width] in [-1, 1] to the scaled latent [1, C, h, w]. */
export async function encodePixels(model: OpenModel, pixels: Float32Array, height: number, width: number, timer?: OrtTimer): Promise<{ data: Float32Array; dims: number[] }> {
  if (!model.vaeEncoder) throw new Error(`${model.folder.dir}: the VAE encoder was not opened (openModel(..., needEncoder = true))`);
  const out = (await timedRun(model.vaeEncoder, { sample: floatTensor(model.vaeEncoderFloat, pixels, [1, 3, height, width]) }, timer)).latent_sample;
  return { data: readFloats(out).map((x) => x * model.folder.scalingFactor), dims: [...out.dims] };
}

/** Each decoded image as 8-bit RGB. */
export function rgbImages(p: Pixels): Uint8Array[] {
  return Array.from({ length: p.count }, (_, k) => tensorToRgb(p.data, k, p.height, p.width));
}

/** One latent [C, h, w] decoded to a PNG (progress previews). */
export async function previewPng(model: OpenModel, latent: Float32Array, shape: readonly number[], timer?: OrtTimer): Promise<Uint8Array> {
  const p = await decodeLatents(model, latent, shape, timer);
  return encodePng(rgbImages(p)[0], p.width, p.height);
}
