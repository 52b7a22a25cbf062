/**
 * The Noto emoji training set (npm `emoji-datasource-google`; images Apache-2.0, data MIT): every
 * picturable emoji composited on white, resized to 32x32 RGB, with its captions.
 *
 * Decisions (docs/MODELS.md): skin-tone variants are left out (they would double the people and their
 * captions do not say the tone); the Flags, Symbols and Component categories are left out (text, arrows
 * and flags are not objects a 32x32 model can learn from one caption each). The prepared set is cached
 * in `.cache/` so only the first run pays for decoding 1,400 PNGs.
 */
import { readFileSync, mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import sharp from 'sharp';
import { rgbToCHW } from '../../io/images';
import { captionsFor, broadCaption, objectName, type EmojiEntry } from './captions';

export const EMOJI_CATEGORIES = [
  'Smileys & Emotion', 'People & Body', 'Animals & Nature', 'Food & Drink', 'Travel & Places',
  'Activities', 'Objects',
] as const;

/** One image of the set and what it shows. */
export interface EmojiItem {
  /** File name in the package, e.g. "1f9a2.png". */
  image: string;
  /** Canonical object words, e.g. "swan". */
  object: string;
  category: string;
  subcategory: string;
  /** Captions; the first is canonical ("a swan"). */
  captions: string[];
  /** A broad caption shared with siblings ("a bird"), if any. */
  broad?: string;
}

/** The prepared set: `pixels` holds N images as uint8 HWC RGB, `size` x `size`. */
export interface EmojiDataset {
  items: EmojiItem[];
  size: number;
  pixels: Uint8Array;
}

function packageDir(): string {
  return dirname(require.resolve('emoji-datasource-google/package.json'));
}

/** The entries that make up the set, in package order (deterministic). */
export function selectEntries(): EmojiEntry[] {
  const all = JSON.parse(readFileSync(join(packageDir(), 'emoji.json'), 'utf8')) as Array<EmojiEntry & { has_img_google: boolean }>;
  const keep = new Set<string>(EMOJI_CATEGORIES);
  return all.filter((e) => e.has_img_google && keep.has(e.category));
}

/** Build the item list (captions) without touching images. */
export function emojiItems(): EmojiItem[] {
  return selectEntries().map((e, i) => ({
    image: e.image,
    object: objectName(e),
    category: e.category,
    subcategory: e.subcategory,
    captions: captionsFor(e, i),
    broad: broadCaption(e),
  }));
}

/** Composite one 64x64 RGBA emoji on white and resize it to `size` x `size` RGB (uint8 HWC). */
export async function renderEmoji(file: string, size: number): Promise<Uint8Array> {
  const buf = await sharp(file)
    .flatten({ background: '#ffffff' })
    .resize(size, size, { kernel: 'lanczos3' })
    .removeAlpha()
    .raw()
    .toBuffer();
  if (buf.length !== size * size * 3) throw new Error(`unexpected image size for ${file}`);
  return new Uint8Array(buf);
}

/**
 * Load the set, from `cacheDir` when it was prepared before (same item list and size), otherwise by
 * rendering every PNG and writing the cache atomically.
 */
export async function loadEmojiDataset(cacheDir = '.cache/data', size = 32): Promise<EmojiDataset> {
  const items = emojiItems();
  const key = `emoji-${size}-${items.length}`;
  const bin = join(cacheDir, `${key}.u8`);
  const meta = join(cacheDir, `${key}.json`);
  if (existsSync(bin) && existsSync(meta)) {
    const cached = JSON.parse(readFileSync(meta, 'utf8')) as { images: string[] };
    if (cached.images.join() === items.map((x) => x.image).join()) {
      return { items, size, pixels: new Uint8Array(readFileSync(bin)) };
    }
  }
  const dir = join(packageDir(), 'img', 'google', '64');
  const pixels = new Uint8Array(items.length * size * size * 3);
  for (let i = 0; i < items.length; i++) {
    pixels.set(await renderEmoji(join(dir, items[i].image), size), i * size * size * 3);
  }
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(`${bin}.tmp`, pixels);
  renameSync(`${bin}.tmp`, bin);
  writeFileSync(meta, JSON.stringify({ images: items.map((x) => x.image) }));
  return { items, size, pixels };
}

/**
 * Image `i` of any set stored as uint8 HWC RGB (the emoji sets, the MNIST digits) as float32 CHW in
 * [-1, 1] (the VAE's and image encoder's input range), written into `out` at `offset`.
 */
export function imageToCHW(ds: { size: number; pixels: Uint8Array }, i: number, out: Float32Array, offset = 0): void {
  const hw = ds.size * ds.size;
  rgbToCHW(ds.pixels.subarray(i * hw * 3, (i + 1) * hw * 3), hw, 3, out, offset);
}
