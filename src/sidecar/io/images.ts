/**
 * Between tensors and image files. The VAE speaks [B, 3, H, W] float32 in [-1, 1]; files are 8-bit RGB.
 * sharp wants interleaved Uint8 (a Float32Array raw input would be read as 16-bit and come out black).
 */
import sharp from 'sharp';
import { deflateSync } from 'node:zlib';
import { PNG_SIGNATURE, textChunk, writePngChunk } from './png-metadata';
import { ModelFolderError } from './errors';

/** Image b of a decoded batch as 8-bit interleaved RGB: x in [-1, 1] -> round(255 (x + 1) / 2), clamped. */
export function tensorToRgb(data: Float32Array, b: number, height: number, width: number): Uint8Array {
  const plane = height * width;
  const base = b * 3 * plane;
  const rgb = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = (data[base + c * plane + p] + 1) * 127.5;
      rgb[p * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return rgb;
}

export async function rgbToPng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Reads an image file into [1, 3, height, width] float32 in [-1, 1], resized to cover and centre-cropped. */
export async function readImageTensor(file: string, width: number, height: number): Promise<Float32Array> {
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await sharp(file)
      .resize(width, height, { fit: 'cover' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ModelFolderError(file, `cannot be read as an image (${(err as Error).message})`);
  }
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = raw.data[p * raw.info.channels + c] / 127.5 - 1;
  }
  return out;
}

/**
 * PNG encoding in-process (PNG spec: signature, IHDR, IDAT = zlib stream of scanlines each preceded by
 * filter type 0, IEND), with text chunks placed right after IHDR. Synchronous and without a trip
 * through sharp's thread pool: for the small images the embedded models make, that hop cost more than
 * the encoding (see docs/BENCHMARKS.md).
 */
export function encodePng(rgb: Uint8Array, width: number, height: number, text: Record<string, string> = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const texts = Object.entries(text).map(([k, v]) => textChunk(k, v));
  // For small images most of zlib's cost is setting up its state: a window no larger than the data and
  // the smallest hash table (memLevel 1) cut it by 4x for a 32x32 image, for the same size within 2%.
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(raw.length + 1))));
  const idat = deflateSync(raw, { windowBits, memLevel: windowBits < 15 ? 1 : 8 });
  // One buffer written in place: the small copies of concatenating chunks cost more than deflate here.
  const out = Buffer.allocUnsafe(PNG_SIGNATURE.length + 25 + texts.reduce((n, t) => n + t.length, 0) + 12 + idat.length + 12);
  let at = PNG_SIGNATURE.copy(out, 0);
  at = writePngChunk(out, at, 'IHDR', ihdr);
  for (const t of texts) at += t.copy(out, at);
  at = writePngChunk(out, at, 'IDAT', idat);
  writePngChunk(out, at, 'IEND', new Uint8Array(0));
  return out;
}
