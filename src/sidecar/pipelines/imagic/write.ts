/**
 * Imagic's results on disk: one PNG per eta with the A1111 `parameters` chunk (the target prompt, the
 * sampling settings, and the edit's own fields: eta, source image and its hash, training steps), and a
 * contact sheet [input | eta_1 | eta_2 ...] with the eta written under each cell. Every write is an
 * exclusive create: nothing the user has is overwritten.
 */
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { encodePng, sharpToPng, tensorToRgb } from '../../io/images';
import { outputPath, slug, writeExclusive } from '../../io/outputs';
import { formatParameters, insertTextChunk, type GenerationParameters } from '../../io/png-metadata';

/** Pixels are upscaled (nearest) to at least this side in the contact sheet, so 32 px images are visible. */
const CELL_MIN = 128;
const LABEL_H = 22;

export async function writeEtaImages(
  pixels: { pixels: Float32Array; height: number; width: number },
  etas: number[],
  params: (eta: number) => GenerationParameters,
  out: string,
): Promise<{ files: string[]; rgb: Uint8Array[]; metadata: GenerationParameters[] }> {
  const files: string[] = [];
  const rgb: Uint8Array[] = [];
  const metadata: GenerationParameters[] = [];
  for (let k = 0; k < etas.length; k++) {
    const img = tensorToRgb(pixels.pixels, k, pixels.height, pixels.width);
    const p = params(etas[k]);
    const png = encodePng(img, pixels.width, pixels.height, { parameters: formatParameters(p) });
    const path = etas.length === 1 ? outputPath(out, p.prompt, p.seed, 0, 1) : join(resolve(out), `${p.seed}-${slug(p.prompt)}-eta${etas[k].toFixed(2)}.png`);
    files.push(await writeExclusive(path, png));
    rgb.push(img);
    metadata.push(p);
  }
  return { files, rgb, metadata };
}

/** The sweep side by side: the prepared input, then one cell per eta, labels underneath. */
export async function contactSheet(
  input: Uint8Array,
  outputs: Uint8Array[],
  labels: string[],
  size: { width: number; height: number },
): Promise<Buffer> {
  const scale = Math.max(1, Math.ceil(CELL_MIN / Math.max(size.width, size.height)));
  const [cw, ch] = [size.width * scale, size.height * scale];
  const cells = [input, ...outputs];
  const names = ['input', ...labels];
  const composites: sharp.OverlayOptions[] = [];
  for (let k = 0; k < cells.length; k++) {
    const big = await sharp(cells[k], { raw: { width: size.width, height: size.height, channels: 3 } })
      .resize(cw, ch, { kernel: 'nearest' }).raw().toBuffer();
    composites.push({ input: big, raw: { width: cw, height: ch, channels: 3 }, left: k * cw, top: 0 });
  }
  const text = names.map((s, k) => `<text x="${k * cw + cw / 2}" y="${ch + 16}" text-anchor="middle">${escapeXml(s)}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${cells.length * cw}" height="${ch + LABEL_H}"><style>text{font:13px sans-serif;fill:#222}</style>${text}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharpToPng(sharp({ create: { width: cells.length * cw, height: ch + LABEL_H, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites));
}

export async function writeContactSheet(png: Buffer, out: string, seed: number, prompt: string, parameters: string): Promise<string> {
  return writeExclusive(join(resolve(out), `${seed}-${slug(prompt)}-sweep.png`), insertTextChunk(png, 'parameters', parameters));
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
