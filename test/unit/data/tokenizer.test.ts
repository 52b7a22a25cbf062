import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '@huggingface/tokenizers';
import { buildTokenizer, encodePrompts, MAX_LENGTH } from '../../../src/sidecar/train/data/tokenizer';

const files = buildTokenizer(['a graceful swan', 'a bird', 'an emoji of a cat face']);
// Round trip through JSON: the files on disk are what the generation pipeline loads.
const tok = new Tokenizer(JSON.parse(JSON.stringify(files.tokenizer)), JSON.parse(JSON.stringify(files.config)));

test('prompts become <bos> words <eos>, lowercase, punctuation dropped', () => {
  const e = tok.encode('A Graceful SWAN!');
  assert.deepEqual(e.tokens, ['<bos>', 'a', 'graceful', 'swan', '<eos>']);
  assert.equal(tok.decode(e.ids, { skip_special_tokens: true }), 'a graceful swan');
});

test('an unknown word falls back to letters, not <unk>', () => {
  assert.deepEqual(tok.encode('zebra').tokens, ['<bos>', 'z', '##e', '##b', '##r', '##a', '<eos>']);
});

test('the empty prompt (classifier-free guidance) is <bos> <eos> then padding', () => {
  const ids = encodePrompts(tok, [''], MAX_LENGTH);
  assert.deepEqual([...ids.slice(0, 3)], [2n, 3n, 0n]);
  assert.equal(ids.length, MAX_LENGTH);
});

test('long prompts are truncated to model_max_length and keep their <eos>', () => {
  const ids = encodePrompts(tok, ['a '.repeat(40)], MAX_LENGTH);
  assert.equal(ids.length, MAX_LENGTH);
  assert.equal(ids[MAX_LENGTH - 1], 3n);
  assert.equal(files.config.model_max_length, MAX_LENGTH);
});
