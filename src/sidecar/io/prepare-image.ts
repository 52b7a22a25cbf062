/**
 * Preparing a user's picture for a model: any format sharp reads (PNG, JPEG, WebP, GIF, TIFF, AVIF
 * ...), any size, with or without alpha, grey or colour -> exactly width x height 8-bit sRGB.
 *
 *   1. read       the file once into memory (the file itself is only ever read, never written)
 *   2. check      it is not empty, sharp recognises it, and its size is sane (a decompression bomb or
 *                 a 1 x 100000 strip is refused before any pixel is decoded)
 *   3. orient     EXIF orientation applied (phone photos)
 *   4. flatten    alpha composited on white (transparent emoji stay on a white background, the
 *                 training data's convention)
 *   5. colour     grey, CMYK, 16-bit -> 8-bit sRGB
 *   6. fit        resized to cover width x height, then centre-cropped
 *
 * Every problem is an ImageInputError naming the file and what is wrong with it.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { rgbToCHW } from './images';

/** Largest input accepted, in pixels (100 megapixels) and in bytes (256 MiB). */
export const MAX_INPUT_PIXELS = 100_000_000;
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

export class ImageInputError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'ImageInputError';
  }
}

export interface PreparedImage {
  /** Interleaved 8-bit RGB, width * height * 3. */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** SHA-256 (hex) of the input file's bytes: the cache key of an edit. */
  sourceHash: string;
  /** What the file was: format and size before preparation. */
  source: { format: string; width: number; height: number; channels: number; hasAlpha: boolean };
}

export async function prepareImage(path: string, width: number, height: number): Promise<PreparedImage> {
  const bytes = await readInput(path);
  const meta = await readMetadata(path, bytes);
  let rgb: Buffer;
  try {
    rgb = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .rotate()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .resize(width, height, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer();
  } catch (err) {
    throw new ImageInputError(path, `cannot be decoded: the file looks damaged or truncated (${(err as Error).message})`);
  }
  if (rgb.length !== width * height * 3) throw new ImageInputError(path, `decoded to ${rgb.length} bytes, expected ${width * height * 3}`);
  return {
    rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length),
    width,
    height,
    sourceHash: createHash('sha256').update(bytes).digest('hex'),
    source: meta,
  };
}

/** Prepared RGB as the VAE's [1, 3, H, W] float32 in [-1, 1]. */
export function rgbToTensor(img: { rgb: Uint8Array; width: number; height: number }): Float32Array {
  return rgbToCHW(img.rgb, img.width * img.height);
}

async function readInput(path: string): Promise<Buffer> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ImageInputError(path, 'is not a file');
    size = s.size;
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    throw new ImageInputError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot be read (${(err as Error).message})`);
  }
  if (size === 0) throw new ImageInputError(path, 'is empty (0 bytes)');
  if (size > MAX_INPUT_BYTES) throw new ImageInputError(path, `is ${(size / 2 ** 20).toFixed(0)} MiB; images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted`);
  return readFile(path);
}

async function readMetadata(path: string, bytes: Buffer): Promise<PreparedImage['source']> {
  let m: sharp.Metadata;
  try {
    m = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageInputError(path, 'is not an image sharp can read (PNG, JPEG, WebP, GIF, TIFF, AVIF are)');
  }
  const { width = 0, height = 0 } = m;
  if (!width || !height) throw new ImageInputError(path, `has no pixel size (format ${m.format})`);
  if (width * height > MAX_INPUT_PIXELS) {
    throw new ImageInputError(path, `is ${width}x${height} (${((width * height) / 1e6).toFixed(0)} megapixels); images up to ${MAX_INPUT_PIXELS / 1e6} megapixels are accepted`);
  }
  return { format: m.format ?? 'unknown', width, height, channels: m.channels ?? 0, hasAlpha: m.hasAlpha ?? false };
}
