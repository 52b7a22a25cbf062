/**
 * The multi-style emoji set of the next embedded model: the picturable emoji of the current set
 * (emoji.ts: 1,412 Noto emoji, no skin tones, no flags) drawn by up to seven artists, each an Iconify
 * package on npm, rasterised with sharp at the training size on white and matched across sets by code
 * point. Licences are read from each package (info.json) and listed in NOTICE.
 *
 * Matching: noto, fluent-emoji-flat and twemoji ship chars.json (code point -> icon name): matched by
 * code point. noto-v1, fluent-emoji (3D), fxemoji and emojione ship no code points: matched by NAME,
 * trying in order the names a sibling set's chars.json gives that code point (fluent-emoji uses
 * fluent-emoji-flat's names, noto-v1 noto's), then the Unicode name and the short names, slugified
 * ("CAT FACE" -> "cat-face"; fxemoji writes names without dashes: "catface"). Name matching is checked
 * against the code-point map where both exist (docs/BENCHMARKS.md).
 *
 * Rasterised sets are cached per style under `<cacheDir>/styles-<size>/` (written atomically when a
 * style is complete, so an interrupted run resumes at the next style and training never rasterises).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../../io/atomic';
import { emojiItems, imageToCHW, selectEntries, type EmojiItem } from './emoji';
import { codeKey, hasIcon, loadIconSet, renderIcon, type IconSet } from './iconify';
import type { EmojiEntry } from './captions';

/** One drawing style = one icon set, and the words a prompt uses to ask for it. */
export interface EmojiStyle {
  /** Short id, e.g. "twemoji". */
  id: string;
  pkg: string;
  /** Style words for captions; the first is canonical ("a swan in the twitter style"). */
  words: readonly string[];
  /** How emoji are found in the set: by code point (chars.json) or by name. */
  match: 'code point' | 'name';
  /** Name-matched sets: styles whose chars.json names are tried first (same naming scheme). */
  namesFrom?: readonly string[];
  /** fxemoji writes names without separators ("alarmclock"). */
  squash?: boolean;
}

export const EMOJI_STYLES: readonly EmojiStyle[] = [
  { id: 'noto', pkg: '@iconify-json/noto', words: ['noto', 'google'], match: 'code point' },
  { id: 'noto-v1', pkg: '@iconify-json/noto-v1', words: ['classic', 'old noto'], match: 'name', namesFrom: ['noto'] },
  { id: 'fxemoji', pkg: '@iconify-json/fxemoji', words: ['firefox', 'fxemoji'], match: 'name', namesFrom: ['noto', 'twemoji'], squash: true },
  { id: 'fluent-emoji', pkg: '@iconify-json/fluent-emoji', words: ['3d', 'fluent'], match: 'name', namesFrom: ['fluent-emoji-flat'] },
  { id: 'fluent-emoji-flat', pkg: '@iconify-json/fluent-emoji-flat', words: ['flat', 'fluent flat'], match: 'code point' },
  { id: 'twemoji', pkg: '@iconify-json/twemoji', words: ['twitter', 'twemoji'], match: 'code point' },
  { id: 'emojione', pkg: '@iconify-json/emojione', words: ['emojione', 'emoji one'], match: 'name', namesFrom: ['noto', 'twemoji'] },
];

/** An emoji of the set with its code point key (codeKey). */
export interface StyledEmoji extends EmojiItem {
  code: string;
}

/** One picture: emoji `emoji` drawn in style `style` (indices into the dataset's lists). */
export interface StyledSample {
  emoji: number;
  style: number;
  /** Icon name in the style's package. */
  icon: string;
}

/** The prepared set: `pixels` holds the samples as uint8 HWC RGB, `size` x `size`, in sample order. */
export interface StyledEmojiDataset {
  size: number;
  styles: readonly EmojiStyle[];
  emoji: StyledEmoji[];
  samples: StyledSample[];
  pixels: Uint8Array;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/**
 * The name candidates of one emoji for a name-matched style: `strong` (a sibling set's name for this
 * code point, then the slugified Unicode name) and `weak` (the short names, which several emoji can
 * share: "cat" is a short name of CAT FACE too).
 */
export function nameCandidates(e: EmojiEntry, code: string, style: EmojiStyle, sets: Map<string, IconSet>): { strong: string[]; weak: string[] } {
  const strong: string[] = [];
  for (const id of style.namesFrom ?? []) {
    const n = sets.get(id)?.chars.get(code);
    if (n) strong.push(n);
  }
  strong.push(slug(e.name));
  return { strong: [...new Set(strong)], weak: [...new Set(e.short_names.map(slug))].filter((n) => n && !strong.includes(n)) };
}

const SQUASHED = new WeakMap<IconSet, Map<string, string>>();

/** The first of `names` the set has (fxemoji: compared without dashes), or undefined. */
function lookup(set: IconSet, style: EmojiStyle, names: string[]): string | undefined {
  if (!style.squash) return names.find((n) => hasIcon(set, n));
  let squashed = SQUASHED.get(set);
  if (!squashed) {
    squashed = new Map(Object.keys({ ...set.icons.icons, ...set.icons.aliases }).map((n) => [n.replace(/-/g, ''), n]));
    SQUASHED.set(set, squashed);
  }
  for (const n of names) {
    const hit = squashed.get(n.replace(/-/g, ''));
    if (hit) return hit;
  }
  return undefined;
}

/**
 * The icon of each emoji in one style (undefined where the set has no drawing of it). Code-point sets
 * read chars.json. Name-matched sets try the strong names of every emoji first; a short name is used
 * only for an icon no emoji claimed, and only once: two emoji never share a drawing.
 */
export function findIcons(entries: EmojiEntry[], codes: string[], style: EmojiStyle, sets: Map<string, IconSet>): (string | undefined)[] {
  const set = sets.get(style.id)!;
  if (style.match === 'code point') return codes.map((c) => set.chars.get(c));
  const cands = entries.map((e, i) => nameCandidates(e, codes[i], style, sets));
  const out = cands.map((c) => lookup(set, style, c.strong));
  // Two emoji whose strong names reach one drawing ("man-in-tuxedo" is the old Unicode name of PERSON
  // IN TUXEDO and the CLDR name of MAN IN TUXEDO): the one a sibling set's code-point map names wins.
  const owner = new Map<string, number>();
  out.forEach((icon, i) => {
    if (!icon) return;
    const j = owner.get(icon);
    const rank = (k: number) => (lookup(set, style, cands[k].strong.slice(0, -1)) === icon ? 0 : 1);
    if (j === undefined) owner.set(icon, i);
    else if (rank(i) < rank(j)) { out[j] = undefined; owner.set(icon, i); } else out[i] = undefined;
  });
  const used = new Set(out.filter(Boolean));
  cands.forEach((c, i) => {
    if (out[i]) return;
    const hit = lookup(set, style, c.weak);
    if (hit && !used.has(hit)) { out[i] = hit; used.add(hit); }
  });
  return out;
}

/** Load every style's package (licence, icons, chars) once. */
export function loadStyleSets(styles: readonly EmojiStyle[] = EMOJI_STYLES): Map<string, IconSet> {
  return new Map(styles.map((s) => [s.id, loadIconSet(s.pkg)]));
}

/** The emoji and, per emoji, its icon in each style (no pixels): cheap, deterministic. */
export function matchStyles(styles: readonly EmojiStyle[] = EMOJI_STYLES, sets = loadStyleSets(styles)): { emoji: StyledEmoji[]; samples: StyledSample[] } {
  const entries = selectEntries();
  const emoji = emojiItems().map((item) => ({ ...item, code: codeKey(item.image.replace(/\.png$/, '')) }));
  const samples: StyledSample[] = [];
  const codes = emoji.map((e) => e.code);
  styles.forEach((style, s) => {
    findIcons(entries, codes, style, sets).forEach((icon, i) => { if (icon) samples.push({ emoji: i, style: s, icon }); });
  });
  return { emoji, samples };
}

export interface LoadStylesOptions {
  cacheDir?: string;
  size?: number;
  styles?: readonly EmojiStyle[];
  /** Called after each style is ready (from cache or rasterised). */
  onStyle?: (style: EmojiStyle, count: number, fromCache: boolean) => void;
}

/**
 * The multi-style set at `size` x `size`: from the cache where a style was rasterised before with the
 * same icon list, otherwise rasterising that style and caching it.
 */
export async function loadStyledEmoji(o: LoadStylesOptions = {}): Promise<StyledEmojiDataset> {
  const size = o.size ?? 64;
  const styles = o.styles ?? EMOJI_STYLES;
  const dir = join(o.cacheDir ?? '.cache/data', `styles-${size}`);
  const sets = loadStyleSets(styles);
  const { emoji, samples } = matchStyles(styles, sets);
  mkdirSync(dir, { recursive: true });
  const px = size * size * 3;
  const pixels = new Uint8Array(samples.length * px);
  for (let s = 0; s < styles.length; s++) {
    const style = styles[s];
    const mine = samples.map((x, k) => [x, k] as const).filter(([x]) => x.style === s);
    const list = mine.map(([x]) => `${emoji[x.emoji].code}:${x.icon}`);
    const bin = join(dir, `${style.id}.u8`), meta = join(dir, `${style.id}.json`);
    const version = sets.get(style.id)!.version;
    let cached = false;
    if (existsSync(bin) && existsSync(meta)) {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { version: string; icons: string[] };
      if (m.version === version && m.icons.join() === list.join()) {
        const buf = readFileSync(bin);
        mine.forEach(([, k], j) => pixels.set(buf.subarray(j * px, (j + 1) * px), k * px));
        cached = true;
      }
    }
    if (!cached) {
      const out = new Uint8Array(mine.length * px);
      for (let j = 0; j < mine.length; j++) {
        const img = await renderIcon(sets.get(style.id)!, mine[j][0].icon, size);
        out.set(img, j * px);
        pixels.set(img, mine[j][1] * px);
      }
      writeAtomic(bin, [out]);
      writeAtomic(meta, [Buffer.from(JSON.stringify({ pkg: style.pkg, version, size, icons: list }))]);
    }
    o.onStyle?.(style, mine.length, cached);
  }
  return { size, styles, emoji, samples, pixels };
}

/** Per style: how many emoji it draws; and how many emoji have at least k styles, for k = 1..n. */
export function styleCounts(ds: Pick<StyledEmojiDataset, 'styles' | 'emoji' | 'samples'>): { perStyle: Record<string, number>; atLeast: number[] } {
  const perStyle: Record<string, number> = Object.fromEntries(ds.styles.map((s) => [s.id, 0]));
  const perEmoji = new Array<number>(ds.emoji.length).fill(0);
  for (const x of ds.samples) { perStyle[ds.styles[x.style].id]++; perEmoji[x.emoji]++; }
  const atLeast = ds.styles.map((_, k) => perEmoji.filter((n) => n >= k + 1).length);
  return { perStyle, atLeast };
}

/** Sample `k` as float32 CHW in [-1, 1], written into `out` at `offset`. */
export function sampleToCHW(ds: StyledEmojiDataset, k: number, out: Float32Array, offset = 0): void {
  imageToCHW(ds, k, out, offset);
}

/** The sample indices of each emoji's drawings, by emoji. */
export function drawingsByEmoji(ds: Pick<StyledEmojiDataset, 'emoji' | 'samples'>): number[][] {
  const by: number[][] = ds.emoji.map(() => []);
  ds.samples.forEach((x, k) => by[x.emoji].push(k));
  return by;
}

/**
 * The object evaluator's held-out drawing of emoji `e` (models/evaluators/objects): one of each emoji
 * with two or more, the style rotating with the emoji's index; undefined for an emoji drawn once.
 */
export function objectHeldOut(drawings: readonly number[], e: number): number | undefined {
  return drawings.length >= 2 ? drawings[e % drawings.length] : undefined;
}
