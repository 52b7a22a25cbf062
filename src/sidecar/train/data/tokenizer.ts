/**
 * Builds the embedded models' tokenizer: a lowercase word-level vocabulary in Hugging Face
 * `tokenizer.json` form (a WordPiece model whose vocabulary holds every caption word whole, plus single
 * characters as a fallback, so an unseen word becomes letters rather than one unknown token). Loaded
 * with @huggingface/tokenizers like any hub tokenizer; the post-processor wraps every prompt as
 * `<bos> words <eos>`, and callers pad with `<pad>` (id 0) to `model_max_length` themselves, because
 * tokenizers.js has no padding.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export const SPECIAL_TOKENS = { pad: '<pad>', unk: '<unk>', bos: '<bos>', eos: '<eos>' } as const;
/** Prompt length of every embedded model (bos + up to 14 tokens + eos). */
export const MAX_LENGTH = 16;

export interface TokenizerFiles {
  /** Contents of tokenizer.json. */
  tokenizer: Record<string, unknown>;
  /** Contents of tokenizer_config.json. */
  config: Record<string, unknown>;
}

/**
 * Build the tokenizer files from the words of all captions (sorted, so the ids are reproducible).
 * `extraWords` are added whole even if no caption uses them: the style words of the multi-style set
 * (style-captions.ts `styleWords()`), so "in the twitter style" is three words, not letters.
 */
export function buildTokenizer(captions: Iterable<string>, maxLength = MAX_LENGTH, extraWords: Iterable<string> = []): TokenizerFiles {
  const words = new Set<string>();
  for (const c of [...captions, ...extraWords]) for (const w of c.toLowerCase().split(/[^a-z0-9]+/)) if (w) words.add(w);
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const specials = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos];
  const vocabList = [...specials, ...chars.map((c) => `##${c}`), ...new Set([...chars, ...[...words].sort()])];
  const vocab: Record<string, number> = {};
  vocabList.forEach((t, i) => { vocab[t] = i; });
  const added = specials.map((content, id) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const special = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    // Punctuation and other symbols carry nothing the captions use: they become spaces, not <unk>.
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Lowercase' }, { type: 'Replace', pattern: { Regex: '[^a-z0-9\\s]' }, content: ' ' }],
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(SPECIAL_TOKENS.bos), { Sequence: { id: 'A', type_id: 0 } }, special(SPECIAL_TOKENS.eos)],
      pair: [special(SPECIAL_TOKENS.bos), { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, special(SPECIAL_TOKENS.eos)],
      special_tokens: Object.fromEntries([SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: SPECIAL_TOKENS.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: maxLength,
    padding_side: 'right',
    do_lower_case: true,
    pad_token: SPECIAL_TOKENS.pad,
    unk_token: SPECIAL_TOKENS.unk,
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    clean_up_tokenization_spaces: true,
  };
  return { tokenizer, config };
}

/** Encode prompts to int64-ready ids [B * maxLength]: `<bos> ... <eos>`, truncated (keeping eos), padded. */
export function encodePrompts(tok: Tokenizer, prompts: string[], maxLength = MAX_LENGTH, padId = 0): BigInt64Array {
  const out = new BigInt64Array(prompts.length * maxLength).fill(BigInt(padId));
  prompts.forEach((p, b) => {
    let ids: number[] = tok.encode(p).ids;
    if (ids.length > maxLength) ids = [...ids.slice(0, maxLength - 1), ids[ids.length - 1]];
    ids.forEach((id: number, j: number) => { out[b * maxLength + j] = BigInt(id); });
  });
  return out;
}

/** Load built files into a tokenizers.js Tokenizer (the same call the generation pipeline makes). */
export function loadTokenizer(files: TokenizerFiles): Tokenizer {
  return new Tokenizer(files.tokenizer, files.config);
}
