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
 */
import { crc32 } from 'node:zlib';

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

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

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

/** The three parts of an A1111 parameters text; `fields` keeps every `Key: value` as a string. */
export interface ParsedParameters {
  prompt: string;
  negativePrompt: string;
  fields: Record<string, string>;
}

const FIELD = /\s*([\w][\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g;

export function parseParameters(text: string): ParsedParameters {
  const lines = text.trim().split('\n');
  let fields: Record<string, string> = {};
  const last = lines[lines.length - 1] ?? '';
  const matches = [...last.matchAll(FIELD)];
  if (matches.length >= 3) {
    lines.pop();
    fields = Object.fromEntries(matches.map((m) => [m[1], m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2].trim()]));
  }
  const negStart = lines.findIndex((l) => l.startsWith('Negative prompt:'));
  const promptLines = negStart === -1 ? lines : lines.slice(0, negStart);
  const negLines = negStart === -1 ? [] : lines.slice(negStart);
  return {
    prompt: promptLines.join('\n'),
    negativePrompt: negLines.join('\n').replace(/^Negative prompt:\s?/, ''),
    fields,
  };
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

/** Every tEXt/iTXt chunk of a PNG as keyword -> text (the first one wins). */
export function readTextChunks(png: Buffer): Record<string, string> {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG file (bad signature)');
  const out: Record<string, string> = {};
  for (let pos = 8; pos + 12 <= png.length; ) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'tEXt' || type === 'iTXt') {
      const nul = data.indexOf(0);
      const key = data.toString('latin1', 0, nul);
      let text: string;
      if (type === 'tEXt') text = data.toString('latin1', nul + 1);
      else {
        // Skip compression flag and method, then the language tag and translated keyword (both NUL-ended).
        const lang = data.indexOf(0, nul + 3);
        const trans = data.indexOf(0, lang + 1);
        text = data[nul + 1] === 0 ? data.toString('utf8', trans + 1) : '';
      }
      if (!(key in out)) out[key] = text;
    }
    if (type === 'IEND') break;
    pos += 12 + len;
  }
  return out;
}
