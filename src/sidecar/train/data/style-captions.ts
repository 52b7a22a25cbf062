/**
 * Captions with a drawing style for the multi-style emoji set. The object words come from captions.ts
 * unchanged ("a graceful swan"); a style phrase is appended in one of a few templates ("a graceful
 * swan, flat style", "a graceful swan in the fluent style"). A caption WITHOUT a style phrase is trained
 * on drawings of every style, so such a prompt samples across styles; a style word selects one.
 *
 * Style words are the `words` of emoji-styles.ts' EMOJI_STYLES. `styleOfCaption` tells which style a
 * prompt asks for; a test checks that no caption of the set without a style phrase names one.
 */
import { EMOJI_STYLES, type EmojiStyle } from './emoji-styles';

/** How a style phrase joins a caption; `{c}` = the caption, `{w}` = the style word. */
export const STYLE_TEMPLATES = ['{c}, {w} style', '{c} in the {w} style', '{c} in {w} style', '{c}, {w}'] as const;

/** `caption` in `style`: word `wordIndex` of the style, template `template` (both wrap around). */
export function withStyle(caption: string, style: EmojiStyle, wordIndex = 0, template = 0): string {
  const w = style.words[wordIndex % style.words.length];
  return STYLE_TEMPLATES[template % STYLE_TEMPLATES.length].replace('{c}', caption).replace('{w}', w);
}

/** Every styled variant of one caption (all words x all templates), canonical first. */
export function styledCaptions(caption: string, style: EmojiStyle): string[] {
  const out: string[] = [];
  for (let t = 0; t < STYLE_TEMPLATES.length; t++) for (let w = 0; w < style.words.length; w++) out.push(withStyle(caption, style, w, t));
  return out;
}

/**
 * The style a prompt names, or undefined for a prompt without a style phrase. A style word counts
 * where it is used as one: "<w> style" anywhere, or "..., <w>" / "... in (the) <w>" at the end. A bare
 * word does not ("a womans flat shoe" is a shoe, not the flat style). Longest phrases first ("fluent
 * flat" before "fluent").
 */
export function styleOfCaption(prompt: string, styles: readonly EmojiStyle[] = EMOJI_STYLES): EmojiStyle | undefined {
  const text = prompt.toLowerCase().replace(/[^a-z0-9,]+/g, ' ').replace(/\s*,\s*/g, ', ').trim();
  const phrases = styles.flatMap((s) => s.words.map((w) => ({ s, w }))).sort((a, b) => b.w.length - a.w.length);
  return phrases.find(({ w }) => new RegExp(`(^|[ ,])${w} style\\b|(, | in | in the )${w}$`).test(text))?.s;
}

/** The words the style phrases add to the vocabulary (for the tokenizer builder). */
export function styleWords(styles: readonly EmojiStyle[] = EMOJI_STYLES): string[] {
  const words = new Set<string>();
  for (const t of STYLE_TEMPLATES) for (const w of t.replace(/\{[cw]\}/g, ' ').split(/[^a-z0-9]+/)) if (w) words.add(w);
  for (const s of styles) for (const p of s.words) for (const w of p.split(' ')) words.add(w);
  return [...words].sort();
}

/**
 * A training caption for a drawing of `emoji` in `style`: with probability `pStyled` one of its
 * styled captions, otherwise a plain one (the prompt without a style that samples across styles).
 * `pick(n)` returns an integer in [0, n) (the trainer's Rng.int), so captions follow the run's seed.
 */
export function trainingCaption(captions: readonly string[], style: EmojiStyle, pick: (n: number) => number, pStyled = 0.5): string {
  const caption = captions[pick(captions.length)];
  if (pick(1000) >= pStyled * 1000) return caption;
  return withStyle(caption, style, pick(style.words.length), pick(STYLE_TEMPLATES.length));
}
