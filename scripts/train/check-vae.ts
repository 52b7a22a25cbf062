/**
 * `npx tsx scripts/train/check-vae.ts [--vae .cache/train-styles/vae.safetensors] [--grid out.png]
 * [--evaluator models/evaluators/styles/model.onnx]`:
 * what the 64x64 family's VAE keeps. On the style evaluator's 802 held-out drawings (emoji index 9 mod
 * 10, every style): reconstruction MSE / PSNR, and the style evaluator's accuracy on the real drawings
 * and on their reconstructions (a generator cannot show a style its VAE loses). `--grid` writes 16
 * drawings over their reconstructions.
 */
import * as ort from 'onnxruntime-node';
import { readSafetensors } from '../../src/sidecar/io/safetensors';
import { EMOJI_STYLES_64 } from '../../src/sidecar/nn';
import { loadStyledEmoji, sampleToCHW } from '../../src/sidecar/train/data/emoji-styles';
import { stripPrefix } from './stages';
import { reconstruct } from './prepare';
import { writeSampleGrid } from './grid';

const arg = (name: string, def?: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };

async function styleAccuracy(images: Float32Array, truth: number[]): Promise<number> {
  const s = await ort.InferenceSession.create(arg('--evaluator', 'models/evaluators/styles/model.onnx')!);
  const per = 3 * 64 * 64;
  let ok = 0;
  for (let i = 0; i < truth.length; i += 128) {
    const m = Math.min(128, truth.length - i);
    const out = await s.run({ pixel_values: new ort.Tensor('float32', images.slice(i * per, (i + m) * per), [m, 3, 64, 64]) });
    const l = out.logits.data as Float32Array, k = out.logits.dims[1];
    for (let j = 0; j < m; j++) {
      let b = 0;
      for (let c = 1; c < k; c++) if (l[j * k + c] > l[j * k + b]) b = c;
      if (b === truth[i + j]) ok++;
    }
  }
  return ok / truth.length;
}

async function main(): Promise<void> {
  const file = arg('--vae', '.cache/train-styles/vae.safetensors')!;
  const p = readSafetensors(file).tensors;
  const ds = await loadStyledEmoji({ size: 64 });
  const per = 3 * 64 * 64;
  const rows = ds.samples.map((x, k) => [x, k] as const).filter(([x]) => x.emoji % 10 === 9).map(([, k]) => k);
  const px = new Float32Array(rows.length * per);
  rows.forEach((r, k) => sampleToCHW(ds, r, px, k * per));
  // The latent's channels from the weights (train-styles --latent-channels compares designs).
  const moments = p.get('enc.out.weight')?.dims[0];
  if (!moments) throw new Error(`${file}: no enc.out.weight: not a VAE checkpoint of train-styles`);
  const rec = await reconstruct({ ...EMOJI_STYLES_64, vocab: 10, latentChannels: moments / 2 }, stripPrefix(p, 'enc'), stripPrefix(p, 'dec'), px);
  let mse = 0;
  for (let i = 0; i < px.length; i++) mse += (px[i] - rec[i]) ** 2 / px.length;
  const truth = rows.map((r) => ds.samples[r].style);
  const real = await styleAccuracy(px, truth), recon = await styleAccuracy(rec, truth);
  console.log(`${file}: ${rows.length} held-out drawings, reconstruction MSE ${mse.toFixed(4)} (PSNR ${(10 * Math.log10(4 / mse)).toFixed(2)} dB); style evaluator on the drawings ${(100 * real).toFixed(1)}%, on their reconstructions ${(100 * recon).toFixed(1)}%`);
  const grid = arg('--grid');
  if (grid) {
    const pick = Array.from({ length: 16 }, (_, k) => Math.floor(k * rows.length / 16));
    const both = new Float32Array(32 * per);
    pick.forEach((r, k) => {
      const row = Math.floor(k / 8) * 16 + (k % 8);
      both.set(px.subarray(r * per, (r + 1) * per), row * per);
      both.set(rec.subarray(r * per, (r + 1) * per), (row + 8) * per);
    });
    await writeSampleGrid(both, 64, Array<string>(32).fill(''), 8, grid, 2);
  }
}

void main().catch((err: unknown) => { console.error(err); process.exit(1); });
