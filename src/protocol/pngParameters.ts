/**
 * Reading generation parameters back out of a PNG, the AUTOMATIC1111 way: the `parameters` text chunk
 * (tEXt, or uncompressed UTF-8 iTXt) and its three parts. Shared by the sidecar (`diffusion-studio info`,
 * tests) and the extension (PNG info, history), so there is one reader; the writer is the sidecar's
 * io/png-metadata.ts. The text is
 *
 *   <prompt>
 *   Negative prompt: <negative prompt>          (line left out when empty)
 *   Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 0123456789, Model: name
 *
 * PNG chunk layout (PNG spec, section 5.3): length (4, big endian), type (4), data, CRC-32 of type+data.
 */

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

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
