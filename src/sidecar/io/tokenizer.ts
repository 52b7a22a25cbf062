/**
 * Prompt tokenizers for model folders. Two layouts are accepted in `tokenizer/`:
 * - `tokenizer.json` (+ `tokenizer_config.json`): any Hugging Face tokenizer, loaded as is (the embedded
 *   models use this);
 * - `vocab.json` + `merges.txt` (+ `tokenizer_config.json`): CLIP's byte-level BPE as Stable Diffusion
 *   ships it, mapped onto the same tokenizer.json form CLIPTokenizerFast uses (NFC, collapse whitespace,
 *   lowercase; CLIP's split pattern; byte-level alphabet; BPE with `</w>` word ends; bos ... eos).
 * tokenizers.js does no padding or truncation, so `encode` does both: ids are cut to model_max_length
 * keeping the final end token, then padded with the pad token (CLIP pads with <|endoftext|>).
 * cachedTokenizer keeps built tokenizers keyed like the sessions: by the path, size and mtime of every
 * tokenizer file, so an edited tokenizer.json or vocab is read again.
 */
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFolderError } from './errors';
import { modelFileExists, readModelJson, readModelText } from './model-file';
import { FileCache, stampFiles } from './file-cache';

export interface PromptTokenizer {
  /** Tokens per prompt (model_max_length), the text encoder's sequence length. */
  readonly maxLength: number;
  readonly padId: number;
  /** ids for each prompt, truncated and padded: [prompts.length * maxLength], ready for an int64 tensor. */
  encode(prompts: readonly string[]): BigInt64Array;
  /** The token ids of one prompt before padding (for tests and diagnostics). */
  ids(prompt: string): number[];
}

/** CLIP's pre-tokenizer split (openai/CLIP simple_tokenizer.py), as CLIPTokenizerFast writes it. */
const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** The files a tokenizer is built from (see the layouts above). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt'];

/** A few models' tokenizers: CLIP's files are ~2 MB and build in tens of milliseconds. */
const tokenizers = new FileCache<PromptTokenizer>({ maxEntries: 8, maxBytes: 64 * 2 ** 20 }, () => undefined);

/** loadTokenizer(dir), built once per version of the folder's tokenizer files. */
export function cachedTokenizer(dir: string, fallbackMaxLength = 77): PromptTokenizer {
  const files = stampFiles(TOKENIZER_FILES.map((f) => join(dir, f)));
  return tokenizers.get(dir, String(fallbackMaxLength), files, () => loadTokenizer(dir, fallbackMaxLength));
}

export function loadTokenizer(dir: string, fallbackMaxLength = 77): PromptTokenizer {
  const configPath = join(dir, 'tokenizer_config.json');
  const config = modelFileExists(configPath) ? readModelJson(configPath) : {};
  let json: Record<string, unknown>;
  if (modelFileExists(join(dir, 'tokenizer.json'))) {
    json = readModelJson(join(dir, 'tokenizer.json'));
  } else if (modelFileExists(join(dir, 'vocab.json')) && modelFileExists(join(dir, 'merges.txt'))) {
    json = clipTokenizerJson(readModelJson(join(dir, 'vocab.json')) as Record<string, number>, readMerges(join(dir, 'merges.txt')), config);
  } else {
    throw new ModelFolderError(dir, 'has neither tokenizer.json nor vocab.json + merges.txt');
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (err) {
    throw new ModelFolderError(dir, `the tokenizer could not be loaded: ${(err as Error).message}`);
  }
  const declared = Number(config.model_max_length);
  // Hub configs without a limit say 1e30; fall back to the text encoder's length then.
  const maxLength = Number.isInteger(declared) && declared > 1 && declared < 100000 ? declared : fallbackMaxLength;
  const padId = tokenId(json, config.pad_token) ?? tokenId(json, config.eos_token) ?? 0;
  const ids = (prompt: string): number[] => tok.encode(prompt).ids;
  return {
    maxLength,
    padId,
    ids,
    encode(prompts) {
      const out = new BigInt64Array(prompts.length * maxLength).fill(BigInt(padId));
      prompts.forEach((p, b) => {
        let t = ids(p);
        if (t.length > maxLength) t = [...t.slice(0, maxLength - 1), t[t.length - 1]];
        t.forEach((id, j) => (out[b * maxLength + j] = BigInt(id)));
      });
      return out;
    },
  };
}

function readMerges(path: string): string[] {
  return readModelText(path)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#version'));
}

/** A special token's id: tokenizer_config gives the token as a string or an AddedToken object. */
function tokenId(json: Record<string, unknown>, token: unknown): number | undefined {
  const content = typeof token === 'string' ? token : (token as { content?: string } | undefined)?.content;
  if (!content) return undefined;
  const added = (json.added_tokens as Array<{ id: number; content: string }> | undefined)?.find((t) => t.content === content);
  if (added) return added.id;
  const vocab = (json.model as { vocab?: Record<string, number> } | undefined)?.vocab;
  return vocab && !Array.isArray(vocab) ? vocab[content] : undefined;
}

function clipTokenizerJson(vocab: Record<string, number>, merges: string[], config: Record<string, unknown>): Record<string, unknown> {
  const bos = String((config.bos_token as { content?: string })?.content ?? config.bos_token ?? '<|startoftext|>');
  const eos = String((config.eos_token as { content?: string })?.content ?? config.eos_token ?? '<|endoftext|>');
  for (const t of [bos, eos]) if (vocab[t] === undefined) throw new ModelFolderError('vocab.json', `lacks the special token ${t}`);
  const special = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const addedToken = (content: string) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
  });
  return {
    version: '1.0',
    added_tokens: [addedToken(bos), addedToken(eos)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(bos), { Sequence: { id: 'A', type_id: 0 } }, special(eos)],
      pair: [special(bos), { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, special(eos)],
      special_tokens: Object.fromEntries([bos, eos].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: eos, continuing_subword_prefix: '', end_of_word_suffix: '</w>',
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}
