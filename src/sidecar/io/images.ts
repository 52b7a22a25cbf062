/**
 * Between tensors and image files. The VAE speaks [B, 3, H, W] float32 in [-1, 1]; files are 8-bit RGB.
 * sharp wants interleaved Uint8 (a Float32Array raw input would be read as 16-bit and come out black).
 * Every PNG the project writes goes through encodePng (sharpToPng for what sharp resized, composited or
 * rendered): one writer, with the parameters chunk where readers find it.
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

/**
 * Interleaved 8-bit pixels (`channels` per pixel, the first three R, G, B; sharp's raw output) as the
 * VAE's planar float32 in [-1, 1], written into `out` from `offset`: the one such conversion.
 */
export function rgbToCHW(src: Uint8Array, plane: number, channels = 3, out: Float32Array = new Float32Array(3 * plane), offset = 0): Float32Array {
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[offset + c * plane + p] = src[p * channels + c] / 127.5 - 1;
  }
  return out;
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
  return rgbToCHW(raw.data, width * height, raw.info.channels);
}

/**
 * Images up to this many raw bytes (64x64 RGB) are stored, not compressed. Measured in the generation
 * pipeline on a 32x32 image: zlib's deflateSync cost 0.27 ms there (its stream object and state are
 * set up per call, with caches cold after the model runs; 0.03 ms in a loop) - 6% of a 4-step
 * student's whole request - to save about 1 KB of a 3 KB file.
 */
const STORED_MAX = 64 * 64 * 3 + 64;

/** A zlib stream (RFC 1950) holding one stored deflate block (RFC 1951, BTYPE 00; up to 65,535 bytes). */
function storedZlib(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + 5 + data.length + 4);
  out[0] = 0x78; // CM 8 (deflate), 32K window
  out[1] = 0x01; // FCHECK: (0x78 << 8 | 0x01) % 31 === 0; no dictionary
  out[2] = 1; // BFINAL, BTYPE 00
  out.writeUInt16LE(data.length, 3);
  out.writeUInt16LE(~data.length & 0xffff, 5);
  out.set(data, 7);
  let a = 1, b = 0; // Adler-32
  for (let i = 0; i < data.length; i++) {
    a = (a + data[i]) % 65521;
    b = (b + a) % 65521;
  }
  out.writeUInt32BE(((b << 16) | a) >>> 0, 7 + data.length);
  return out;
}

/**
 * PNG encoding in-process (PNG spec: signature, IHDR, IDAT = zlib stream of scanlines each preceded by
 * filter type 0, IEND), with text chunks placed right after IHDR. Synchronous and without a trip
 * through sharp's thread pool: for the small images the embedded models make, that hop cost more than
 * the encoding (see docs/BENCHMARKS.md). `rgb` is interleaved 8-bit RGB, or RGBA with `channels` 4.
 */
export function encodePng(rgb: Uint8Array, width: number, height: number, text: Record<string, string> = {}, channels: 3 | 4 = 3): Buffer {
  if (rgb.length !== width * height * channels) throw new Error(`encodePng: ${rgb.length} bytes for ${width}x${height}x${channels}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // colour type: truecolour with alpha, or truecolour RGB
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const texts = Object.entries(text).map(([k, v]) => textChunk(k, v));
  const idat = raw.length <= STORED_MAX ? storedZlib(raw) : deflateSync(raw);
  // One buffer written in place: the small copies of concatenating chunks cost more than deflate here.
  const out = Buffer.allocUnsafe(PNG_SIGNATURE.length + 25 + texts.reduce((n, t) => n + t.length, 0) + 12 + idat.length + 12);
  let at = PNG_SIGNATURE.copy(out, 0);
  at = writePngChunk(out, at, 'IHDR', ihdr);
  for (const t of texts) at += t.copy(out, at);
  at = writePngChunk(out, at, 'IDAT', idat);
  writePngChunk(out, at, 'IEND', new Uint8Array(0));
  return out;
}

/**
 * What sharp made (resized, composited, rendered from SVG) as a PNG written by encodePng. An alpha
 * channel is kept only where some pixel is not opaque (sharp adds one to every composite).
 */
export async function sharpToPng(img: sharp.Sharp, text: Record<string, string> = {}): Promise<Buffer> {
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return encodePng(data, info.width, info.height, text);
  if (info.channels !== 4) throw new Error(`sharpToPng: ${info.channels} channels (expected RGB or RGBA)`);
  let opaque = true;
  for (let i = 3; i < data.length && opaque; i += 4) opaque = data[i] === 255;
  if (!opaque) return encodePng(data, info.width, info.height, text, 4);
  const rgb = new Uint8Array((data.length / 4) * 3);
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    rgb[q] = data[p];
    rgb[q + 1] = data[p + 1];
    rgb[q + 2] = data[p + 2];
  }
  return encodePng(rgb, info.width, info.height, text);
}
