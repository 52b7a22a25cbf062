// The workspace history read from PNG files: which files count, their kind, newest first, the search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanHistory, searchHistory } from '../../../src/extension/history/scan';
import { insertTextChunk } from '../../../src/sidecar/io/png-metadata';

const root = join(__dirname, '..', '..', '..');
const PLAIN = readFileSync(join(root, 'node_modules', 'emoji-datasource-google', 'img', 'google', '64', '1f431.png'));
const withParams = (text: string) => insertTextChunk(PLAIN, 'parameters', text);

test('every PNG with parameters under the folders, newest first, with its kind; plain PNGs, other files and skipped folders are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-history-'));
  for (const d of ['out/a', 'node_modules/x', '.hidden', 'docs']) mkdirSync(join(dir, d), { recursive: true });
  const write = (rel: string, bytes: Buffer | string, ageS: number) => {
    writeFileSync(join(dir, rel), bytes);
    const t = Date.now() / 1000 - ageS;
    utimesSync(join(dir, rel), t, t);
  };
  write('docs/old.png', withParams('a red fox\nSteps: 4, Sampler: DDIM, Seed: 1'), 300);
  write('docs/new.png', withParams('a blue whale\nNegative prompt: fog\nSteps: 4, Sampler: DDIM, Seed: 2, Denoising strength: 0.5'), 10);
  write('docs/sweep.png', withParams('a cat in sunglasses\nSteps: 4, Sampler: DDIM, Seed: 3, Imagic eta: 0.7'), 100);
  write('docs/plain.png', PLAIN, 5);
  write('docs/notes.png', 'not a png', 5);
  write('docs/readme.txt', 'x', 5);
  write('node_modules/x/dep.png', withParams('dependency\nSteps: 1, Sampler: DDIM, Seed: 1'), 1);
  write('.hidden/h.png', withParams('hidden\nSteps: 1, Sampler: DDIM, Seed: 1'), 1);
  const entries = await scanHistory([dir]);
  assert.deepEqual(entries.map((e) => [e.path.slice(dir.length + 1), e.kind]), [['docs/new.png', 'vary'], ['docs/sweep.png', 'edit'], ['docs/old.png', 'generate']]);
  assert.equal(entries[0].negativePrompt, 'fog');
  assert.match(entries[0].text, /Denoising strength: 0.5$/);
  // Search: every word, any case, in the prompt or the negative prompt.
  assert.deepEqual(searchHistory(entries, 'FOX').map((e) => e.prompt), ['a red fox']);
  assert.deepEqual(searchHistory(entries, 'whale fog').map((e) => e.prompt), ['a blue whale']);
  assert.deepEqual(searchHistory(entries, 'cat whale'), []);
  assert.equal(searchHistory(entries, '  ').length, 3);
});

test('a rescan with the cache reads only new and changed files, and forgets deleted ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-history-cache-'));
  const at = (rel: string, text: string, ageS: number) => {
    writeFileSync(join(dir, rel), withParams(text));
    const t = Date.now() / 1000 - ageS;
    utimesSync(join(dir, rel), t, t);
  };
  at('a.png', 'a lighthouse\nSteps: 4, Sampler: DDIM, Seed: 1', 60);
  at('b.png', 'a sailboat\nSteps: 4, Sampler: DDIM, Seed: 2', 50);
  writeFileSync(join(dir, 'plain.png'), PLAIN);
  const cache = new Map();
  const first = await scanHistory([dir], { cache });
  assert.deepEqual(first.map((e) => e.prompt), ['a sailboat', 'a lighthouse']);
  assert.equal(cache.size, 3, 'the plain PNG is remembered too (as having no parameters)');
  // Same mtime, other bytes: the cached entry is kept (proof that the file was not read again).
  const aTime = statSync(join(dir, 'a.png')).mtime;
  writeFileSync(join(dir, 'a.png'), withParams('rewritten behind our back\nSteps: 4, Sampler: DDIM, Seed: 1'));
  utimesSync(join(dir, 'a.png'), aTime, aTime);
  at('b.png', 'a sailboat at night\nSteps: 4, Sampler: DDIM, Seed: 2', 5);
  at('c.png', 'a harbour\nSteps: 4, Sampler: DDIM, Seed: 3', 1);
  unlinkSync(join(dir, 'plain.png'));
  const second = await scanHistory([dir], { cache });
  assert.deepEqual(second.map((e) => e.prompt), ['a harbour', 'a sailboat at night', 'a lighthouse']);
  assert.deepEqual([...cache.keys()].map((k) => k.slice(dir.length + 1)).sort(), ['a.png', 'b.png', 'c.png']);
});
