/**
 * Image-to-image (SDEdit, Meng et al. 2022): the text-to-image pipeline started part-way. The picture is
 * resized to cover the output size, encoded by the VAE encoder, scaled by scaling_factor, and noised to
 * step `steps - floor(steps * strength)`; only the remaining steps run. strength 1 repaints everything,
 * small strengths keep the composition. One pipeline does both, so this is the same function with the
 * image made required.
 */
import { textToImage, type GenerateOptions, type TextToImageRequest, type TextToImageResult } from './text-to-image';

export interface ImageToImageRequest extends TextToImageRequest {
  /** The starting picture (PNG, JPEG, WebP ...). */
  initImage: string;
  /** How much to repaint, 0 < strength <= 1 (default 0.75). */
  strength?: number;
}

export function imageToImage(request: ImageToImageRequest, options: GenerateOptions = {}): Promise<TextToImageResult> {
  if (typeof request.initImage !== 'string' || request.initImage === '') {
    return Promise.reject(new RangeError('image-to-image needs an initImage'));
  }
  return textToImage(request, options);
}
