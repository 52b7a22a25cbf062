/**
 * Loss curves as a PNG: one panel per stage, loss (log scale, smoothed) against step, drawn as SVG and
 * rasterised with sharp.
 */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { sharpToPng } from '../../src/sidecar/io/images';

export interface Curve {
  title: string;
  losses: number[];
}

function smooth(xs: number[], k: number): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < xs.length; i++) {
    acc += xs[i];
    if (i >= k) acc -= xs[i - k];
    out.push(acc / Math.min(i + 1, k));
  }
  return out;
}

function panel(c: Curve, x0: number, w: number, h: number): string {
  const pad = 44;
  const ys = smooth(c.losses, Math.max(1, Math.floor(c.losses.length / 100))).map((v) => Math.log10(Math.max(v, 1e-8)));
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const span = hi - lo || 1;
  const px = (i: number) => x0 + pad + (i / Math.max(ys.length - 1, 1)) * (w - pad - 12);
  const py = (v: number) => 30 + (1 - (v - lo) / span) * (h - 70);
  const step = Math.max(1, Math.floor(ys.length / 600));
  const pts = ys.filter((_, i) => i % step === 0 || i === ys.length - 1).map((v, j) => `${px(Math.min(j * step, ys.length - 1)).toFixed(1)},${py(v).toFixed(1)}`);
  const label = (v: number) => `<text x="${x0 + 4}" y="${py(v) + 4}" font-size="11" fill="#555">${(10 ** v).toPrecision(2)}</text>`;
  return [
    `<rect x="${x0 + pad}" y="30" width="${w - pad - 12}" height="${h - 70}" fill="#fafafa" stroke="#ccc"/>`,
    `<text x="${x0 + w / 2}" y="20" font-size="14" text-anchor="middle" font-family="sans-serif">${c.title}</text>`,
    label(hi), label(lo),
    `<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="${pts.join(' ')}"/>`,
    `<text x="${x0 + w / 2}" y="${h - 18}" font-size="11" text-anchor="middle" fill="#555" font-family="sans-serif">step (${c.losses.length} steps), loss log scale</text>`,
  ].join('\n');
}

/** Writes all curves side by side into one PNG. */
export async function writeLossCurves(curves: Curve[], path: string, panelWidth = 320, height = 240): Promise<void> {
  const w = panelWidth * curves.length;
  const body = curves.filter((c) => c.losses.length > 0).map((c, i) => panel(c, i * panelWidth, panelWidth, height)).join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`;
  writeFileSync(path, await sharpToPng(sharp(Buffer.from(svg))));
}
