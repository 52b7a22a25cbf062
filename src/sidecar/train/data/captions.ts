/**
 * Captions for the Noto emoji set. Each emoji gets several phrasings built from its Unicode name, its
 * short names and its subcategory ("a graceful swan", "swan", "an emoji of a swan", "a bird"), so the
 * text encoder sees varied wording for one object and the UNet learns that "a bird" is broader than
 * "a swan". All captions are lowercase ASCII words.
 */

/** The fields of one `emoji.json` entry that captions are built from. */
export interface EmojiEntry {
  name: string;
  short_name: string;
  short_names: string[];
  category: string;
  subcategory: string;
  image: string;
}

/** Adjectives that carry no visual meaning of their own: they teach the encoders to ignore filler. */
const ADJECTIVES = ['graceful', 'cute', 'little', 'big', 'lovely', 'nice', 'small', 'happy', 'simple', 'pretty'];

/** Subcategory -> the broad word a person would use ("animal-bird" -> "bird"). */
const BROAD_WORDS: Record<string, string> = {
  'animal-mammal': 'animal', 'animal-bird': 'bird', 'animal-marine': 'sea animal', 'animal-bug': 'bug',
  'animal-reptile': 'reptile', 'animal-amphibian': 'frog', 'plant-flower': 'flower', 'plant-other': 'plant',
  'food-fruit': 'fruit', 'food-vegetable': 'vegetable', 'food-prepared': 'food', 'food-asian': 'food',
  'food-sweet': 'sweet', 'drink': 'drink', 'dishware': 'dish', 'transport-ground': 'vehicle',
  'transport-air': 'aircraft', 'transport-water': 'boat', 'place-building': 'building', 'sport': 'sport',
  'musical-instrument': 'instrument', 'clothing': 'clothing', 'tool': 'tool', 'household': 'household item',
  'sky & weather': 'weather', 'face-smiling': 'smiley', 'face-concerned': 'face', 'cat-face': 'cat',
  'heart': 'heart', 'computer': 'computer', 'office': 'office item', 'book-paper': 'paper', 'money': 'money',
  'time': 'clock', 'game': 'game', 'event': 'celebration', 'person-role': 'person', 'person': 'person',
};

/** Words in Unicode names that say nothing about the picture. */
const NOISE = new Set(['sign', 'symbol', 'emoji', 'with', 'and', 'of', 'the']);

/** Lowercase ASCII words of a phrase; anything else becomes a space. */
export function normaliseWords(text: string): string {
  return text.toLowerCase().replace(/[_-]+/g, ' ').replace(/[^a-z0-9 ]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** The object's canonical words: the short name as people type it, else the cleaned Unicode name. */
export function objectName(e: EmojiEntry): string {
  const fromName = normaliseWords(e.name).split(' ').filter((w) => !NOISE.has(w)).join(' ');
  const short = normaliseWords(e.short_name);
  // Short names such as "+1" or "100" normalise to digits only; the Unicode name is clearer there.
  return /[a-z]/.test(short) ? short : fromName;
}

function article(phrase: string): string {
  return /^[aeiou]/.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

/**
 * All captions of one emoji. The first is canonical ("a swan"): evaluation prompts and nearest-caption
 * classification use it. `index` picks the adjective so captions are deterministic.
 */
export function captionsFor(e: EmojiEntry, index: number): string[] {
  const obj = objectName(e);
  const names = new Set<string>([obj, normaliseWords(e.name)]);
  for (const s of e.short_names) {
    const n = normaliseWords(s);
    if (/[a-z]/.test(n)) names.add(n);
  }
  const adj = ADJECTIVES[index % ADJECTIVES.length];
  const out = [article(obj), obj, `${adj} ${obj}`, `a ${adj} ${obj}`, `an emoji of ${article(obj)}`];
  // Animals also get the phrasing of the product's own example prompt ("a graceful swan").
  if (e.category === 'Animals & Nature') out.push(`a graceful ${obj}`);
  for (const n of names) if (n !== obj) out.push(n, article(n));
  const broad = BROAD_WORDS[e.subcategory];
  if (broad) out.push(`${article(obj)}, ${article(broad)}`.replace(',', ''));
  return [...new Set(out.map(normaliseWords))];
}

/** The broad caption ("a bird") of an emoji, if its subcategory has one; trained on, never evaluated. */
export function broadCaption(e: EmojiEntry): string | undefined {
  const broad = BROAD_WORDS[e.subcategory];
  return broad ? normaliseWords(article(broad)) : undefined;
}
