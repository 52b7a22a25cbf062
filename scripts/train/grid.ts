/**
 * A labelled grid of samples (docs/embedded-samples.png): each 32x32 image upscaled 4x (nearest, so the
 * pixels are honest), its prompt written under it.
 */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { sharpToPng, tensorToRgb } from '../../src/sidecar/io/images';

/** `labelAlign: 'start'` writes labels from a cell's left edge (a row label running over empty neighbours). */
export async function writeSampleGrid(images: Float32Array, size: number, prompts: string[], cols: number, path: string, zoom = 4, labelAlign: 'middle' | 'start' = 'middle'): Promise<void> {
  const cell = size * zoom, labelH = 18, n = prompts.length;
  const rows = Math.ceil(n / cols);
  const tiles: sharp.OverlayOptions[] = [];
  for (let k = 0; k < n; k++) {
    const rgb = tensorToRgb(images, k, size, size);
    const tile = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).resize(cell, cell, { kernel: 'nearest' }).raw().toBuffer();
    tiles.push({ input: tile, raw: { width: cell, height: cell, channels: 3 }, left: (k % cols) * cell, top: Math.floor(k / cols) * (cell + labelH) });
  }
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const labels = prompts.map((p, k) => `<text x="${(k % cols) * cell + (labelAlign === 'start' ? 4 : cell / 2)}" y="${Math.floor(k / cols) * (cell + labelH) + cell + 13}" font-size="12" text-anchor="${labelAlign}" font-family="sans-serif">${esc(p)}</text>`).join('');
  const w = cols * cell, h = rows * (cell + labelH);
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="white"/>${labels}</svg>`);
  writeFileSync(path, await sharpToPng(sharp(svg).composite(tiles)));
}
