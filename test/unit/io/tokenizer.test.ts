// The fixture's vocab.json + merges.txt (scripts/fixtures/make_tiny_sd.py) is a CLIP byte-level BPE with
// merges for a few words. Expected ids were read from that vocab.json by hand (python: vocab['a</w>'] ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadTokenizer } from '../../../src/sidecar/io/tokenizer';
import { buildTokenizer } from '../../../src/sidecar/train/data/tokenizer';

const dir = join(__dirname, '..', '..', 'fixtures', 'tiny-sd', 'tokenizer');
// <|startoftext|>=536, a</w>=320, red</w>=515, cat</w>=513, ,</w>=267, the</w>=519, dog</w>=517, !</w>=256, <|endoftext|>=537
const BOS = 536;
const EOS = 537;

test('CLIP vocab.json + merges.txt: lowercase, whitespace collapsed, merged words, bos/eos', () => {
  const tok = loadTokenizer(dir);
  assert.deepEqual(tok.ids('A  red CAT, the dog!'), [BOS, 320, 515, 513, 267, 519, 517, 256, EOS]);
  // An unmerged word falls back to byte-level pieces: "xy" -> x, y</w>.
  assert.equal(tok.ids('xy').length, 4);
});

test('encode pads with the pad token to model_max_length and truncates keeping the end token', () => {
  const tok = loadTokenizer(dir);
  assert.equal(tok.maxLength, 77);
  assert.equal(tok.padId, EOS);
  const ids = tok.encode(['a cat', 'cat '.repeat(100)]);
  assert.equal(ids.length, 2 * 77);
  assert.deepEqual([...ids.subarray(0, 5)].map(Number), [BOS, 320, 513, EOS, EOS]);
  const long = [...ids.subarray(77)].map(Number);
  assert.equal(long[0], BOS);
  assert.equal(long[76], EOS);
  assert.equal(long[75], 513);
});

test('a folder without tokenizer files gets an error naming it', () => {
  const empty = mkdtempSync(join(tmpdir(), 'tok-'));
  assert.throws(() => loadTokenizer(empty), (e: Error) => e.message.startsWith(empty) && /neither tokenizer.json nor vocab.json/.test(e.message));
  writeFileSync(join(empty, 'tokenizer.json'), '{ nope');
  assert.throws(() => loadTokenizer(empty), /tokenizer.json: is not valid JSON/);
});

test('a tokenizer.json folder (the embedded models\' word-level tokenizer): pad id from tokenizer_config, length 16', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokjson-'));
  const files = buildTokenizer(['grinning face', 'cat face']);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.config));
  const tok = loadTokenizer(dir);
  assert.equal(tok.maxLength, 16);
  assert.equal(tok.padId, 0); // <pad>
  const vocab = (files.tokenizer.model as { vocab: Record<string, number> }).vocab;
  const ids = [...tok.encode(['A cat face!'])].map(Number);
  assert.deepEqual(ids.slice(0, 6), [vocab['<bos>'], vocab.a, vocab.cat, vocab.face, vocab['<eos>'], 0]);
  assert.equal(ids.length, 16);
});
