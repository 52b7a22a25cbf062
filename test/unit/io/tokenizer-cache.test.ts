// cachedTokenizer (src/sidecar/io/tokenizer.ts): one build per version of the tokenizer files, an edited
// file is read again, and only a few tokenizers are kept. Real tokenizer folders copied to temp dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedTokenizer } from '../../../src/sidecar/io/tokenizer';

const ROOT = join(__dirname, '..', '..', '..');
const CLIP = join(ROOT, 'test', 'fixtures', 'tiny-sd', 'tokenizer'); // vocab.json + merges.txt
const HF = join(ROOT, 'models', 'emoji-base', 'tokenizer'); // tokenizer.json

function copyOf(dir: string): string {
  const to = mkdtempSync(join(tmpdir(), 'ds-tok-'));
  cpSync(dir, to, { recursive: true });
  return to;
}

/** Rewrites a JSON file as an editor would: new content, a later modification time. */
function edit(path: string, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(json);
  writeFileSync(path, JSON.stringify(json));
  const later = new Date(Date.now() + 2000);
  utimesSync(path, later, later);
}

test('the same unchanged folder gives the same tokenizer; an edited vocab.json is read again', () => {
  const dir = copyOf(CLIP);
  const first = cachedTokenizer(dir);
  assert.equal(cachedTokenizer(dir), first);
  const cat = first.ids('a cat')[2];
  edit(join(dir, 'vocab.json'), (vocab) => {
    const dog = vocab['dog</w>'];
    vocab['dog</w>'] = vocab['cat</w>'];
    vocab['cat</w>'] = dog;
  });
  const second = cachedTokenizer(dir);
  assert.notEqual(second, first);
  assert.notEqual(second.ids('a cat')[2], cat);
  assert.equal(second.ids('a cat')[2], first.ids('a dog')[2]);
});

test('an edited tokenizer.json or tokenizer_config.json is read again', () => {
  const dir = copyOf(HF);
  const first = cachedTokenizer(dir);
  const id = first.ids('cat').find((i) => i > 5)!;
  edit(join(dir, 'tokenizer.json'), (json) => {
    const vocab = (json.model as { vocab: Record<string, number> }).vocab;
    const word = Object.keys(vocab).find((k) => vocab[k] === id)!;
    vocab[word] = 9999;
  });
  assert.ok(cachedTokenizer(dir).ids('cat').includes(9999));
  edit(join(dir, 'tokenizer_config.json'), (config) => (config.model_max_length = 12));
  assert.equal(cachedTokenizer(dir).maxLength, 12);
});

test('only a few tokenizers are kept: the least recently used is built again', () => {
  const dirs = Array.from({ length: 10 }, () => copyOf(CLIP));
  const first = cachedTokenizer(dirs[0]);
  for (const d of dirs.slice(1, 7)) cachedTokenizer(d);
  assert.equal(cachedTokenizer(dirs[0]), first, 'kept while within the bound');
  for (const d of dirs) cachedTokenizer(d); // 10 folders in turn through a cache of 8: dirs[0] is dropped
  assert.notEqual(cachedTokenizer(dirs[0]), first);
});
