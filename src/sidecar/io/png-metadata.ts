/**
 * Generation parameters inside PNG files, the AUTOMATIC1111 way: a text chunk with keyword `parameters`
 * placed right after IHDR (readers such as sharp only report text chunks found before the image data).
 * The text is
 *
 *   <prompt>
 *   Negative prompt: <negative prompt>          (line left out when empty)
 *   Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 0123456789, Model: name
 *
 * A value containing a comma, colon or quote is written as a JSON string, as A1111 does. Latin-1 text
 * goes into tEXt; anything else into an uncompressed UTF-8 iTXt chunk (what Pillow does for A1111).
 * PNG chunk layout (PNG spec, section 5.3): length (4, big endian), type (4), data, CRC-32 of type+data.
 * This module writes; the reader (readTextChunks, parseParameters) is src/protocol/pngParameters.ts.
 */
import { crc32 } from 'node:zlib';
import { PNG_SIGNATURE } from '../../protocol/pngParameters';

// Reading them back is shared with the extension (PNG info, history): it lives in protocol/.
export { PNG_SIGNATURE, parseParameters, readTextChunks, type ParsedParameters } from '../../protocol/pngParameters';

export interface GenerationParameters {
  prompt: string;
  negativePrompt: string;
  steps: number;
  sampler: string;
  cfgScale: number;
  seed: number;
  width: number;
  height: number;
  model: string;
  modelHash: string;
  /** Further `Key: value` pairs, e.g. { 'Denoising strength': 0.75 }. */
  extra?: Record<string, string | number>;
}

export function formatParameters(p: GenerationParameters): string {
  const fields: Array<[string, string | number]> = [
    ['Steps', p.steps],
    ['Sampler', p.sampler],
    ['CFG scale', p.cfgScale],
    ['Seed', p.seed],
    ['Size', `${p.width}x${p.height}`],
    ['Model hash', p.modelHash],
    ['Model', p.model],
    ...Object.entries(p.extra ?? {}),
  ];
  const line = fields.map(([k, v]) => `${k}: ${quoteIfNeeded(String(v))}`).join(', ');
  const negative = p.negativePrompt ? `\nNegative prompt: ${p.negativePrompt}` : '';
  return `${p.prompt}${negative}\n${line}`;
}

function quoteIfNeeded(v: string): string {
  return /[,:"\n]/.test(v) ? JSON.stringify(v) : v;
}

/** One PNG chunk: length, type, data, CRC-32 over type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  writePngChunk(out, 0, type, data);
  return out;
}

/** Writes a chunk into `out` at `at` (12 + data.length bytes); returns the offset after it. */
export function writePngChunk(out: Buffer, at: number, type: string, data: Uint8Array): number {
  out.writeUInt32BE(data.length, at);
  out.write(type, at + 4, 4, 'latin1');
  out.set(data, at + 8);
  out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8 + data.length)) >>> 0, at + 8 + data.length);
  return at + 12 + data.length;
}

/** A tEXt chunk (Latin-1 text) or, for other text, an uncompressed UTF-8 iTXt chunk. */
export function textChunk(keyword: string, text: string): Buffer {
  const latin1 = [...text].every((c) => c.charCodeAt(0) < 256);
  if (latin1) return pngChunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]));
  // iTXt: keyword, 0, compression flag 0, method 0, empty language tag + 0, empty translated keyword + 0, UTF-8.
  return pngChunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

/** Returns a copy of `png` with a text chunk inserted right after IHDR. */
export function insertTextChunk(png: Buffer, keyword: string, text: string): Buffer {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG file (no signature and IHDR chunk)');
  }
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, ihdrEnd), textChunk(keyword, text), png.subarray(ihdrEnd)]);
}
