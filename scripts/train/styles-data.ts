/**
 * Training data of the 64x64 multi-style family (issue 13): every drawing of the seven-style emoji set
 * and the MNIST training split (never the held-out digits, which only evaluation reads), as one pixel
 * array, plus the caption sampling the stages share. Captions are drawn per batch (not precomputed:
 * the styled captions number half a million), tokenised and run through the frozen text encoder there.
 *
 * - An emoji row gets one of its captions, half the time with its style phrase ("a graceful swan, flat
 *   style"): a caption without a style is trained on every style's drawing, so it samples across styles.
 *   A styled caption that would not fit the tokenizer's length (its style word truncated away) falls back
 *   to the plain one.
 * - A digit row gets one of its captions ("a handwritten number 7"); digits are one row in eight.
 */
import { loadStyledEmoji, sampleToCHW, type StyledEmojiDataset } from '../../src/sidecar/train/data/emoji-styles';
import { loadMnist, digitCaptions, type MnistDataset } from '../../src/sidecar/train/data/mnist';
import { imageToCHW } from '../../src/sidecar/train/data/emoji';
import { styleWords, trainingCaption } from '../../src/sidecar/train/data/style-captions';
import { normaliseWords } from '../../src/sidecar/train/data/captions';
import { buildTokenizer, loadTokenizer, encodePrompts, type TokenizerFiles } from '../../src/sidecar/train/data/tokenizer';
import type { Rng } from '../../src/sidecar/graph';

/** Share of batch rows that are digits (10 classes beside 1,412 objects). */
export const P_DIGIT = 1 / 8;

export interface StylesData {
  styles: StyledEmojiDataset;
  mnist: MnistDataset;
  size: number;
  /** All training images [N, 3, S, S] in [-1, 1]: the emoji drawings (sample order), then the MNIST train split. */
  pixels: Float32Array;
  /** Rows 0..emojiRows-1 are emoji drawings (= styles.samples index); the rest digits (mnist.train order). */
  emojiRows: number;
  digitRows: number;
  tokenizer: TokenizerFiles;
  vocab: number;
  length: number;
  /** Token ids of prompts, flat [B * length]. */
  encode(prompts: string[]): BigInt64Array;
}

export async function loadStylesData(size: number, length: number): Promise<StylesData> {
  const styles = await loadStyledEmoji({ size });
  const mnist = await loadMnist({ size });
  const per = 3 * size * size;
  const emojiRows = styles.samples.length, digitRows = mnist.train.length;
  const pixels = new Float32Array((emojiRows + digitRows) * per);
  for (let k = 0; k < emojiRows; k++) sampleToCHW(styles, k, pixels, k * per);
  mnist.train.forEach((i, j) => imageToCHW(mnist, i, pixels, (emojiRows + j) * per));
  const all: string[] = [];
  for (const e of styles.emoji) all.push(...e.captions);
  for (let d = 0; d < 10; d++) all.push(...digitCaptions(d));
  const tokenizer = buildTokenizer(all, length, styleWords(styles.styles));
  const tok = loadTokenizer(tokenizer);
  const vocab = Object.keys((tokenizer.tokenizer.model as { vocab: object }).vocab).length;
  return { styles, mnist, size, pixels, emojiRows, digitRows, tokenizer, vocab, length, encode: (p) => encodePrompts(tok, p, length) };
}

/** A random training row: an emoji drawing, or (one row in `1 / pDigit`) a training digit. */
export function randomRow(d: StylesData, rng: Rng, pDigit = P_DIGIT): number {
  return rng.next() < pDigit ? d.emojiRows + rng.int(d.digitRows) : rng.int(d.emojiRows);
}

/** The digit a row shows, or -1 for an emoji drawing. */
export function rowDigit(d: StylesData, row: number): number {
  return row < d.emojiRows ? -1 : d.mnist.labels[d.mnist.train[row - d.emojiRows]];
}

/** A training caption for a row (see the module comment); `pStyled`: the share of emoji captions with a style phrase. */
export function rowCaption(d: StylesData, row: number, rng: Rng, pStyled = 0.5): string {
  const digit = rowDigit(d, row);
  if (digit >= 0) { const c = digitCaptions(digit); return c[rng.int(c.length)]; }
  const sample = d.styles.samples[row];
  const captions = d.styles.emoji[sample.emoji].captions;
  const caption = trainingCaption(captions, d.styles.styles[sample.style], (n) => rng.int(n), pStyled);
  // <bos> + words + <eos> must fit, or truncation would cut the style word off the end.
  if (normaliseWords(caption).split(' ').length > d.length - 2) return captions[rng.int(captions.length)];
  return caption;
}

/** Rows [B] -> pixels [B, 3, S, S] (optionally from `source`, e.g. VAE reconstructions of the same rows). */
export function gatherPixels(d: StylesData, rows: number[], source = d.pixels): Float32Array {
  const per = 3 * d.size * d.size;
  const out = new Float32Array(rows.length * per);
  rows.forEach((r, k) => out.set(source.subarray(r * per, (r + 1) * per), k * per));
  return out;
}
