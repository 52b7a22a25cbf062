import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAtomic } from '../../../src/sidecar/io/atomic';

test('writeAtomic replaces the file whole and leaves no temp file behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-atomic-'));
  const path = join(dir, 'state.json');
  writeFileSync(path, 'old');
  writeAtomic(path, [Buffer.from('new '), Buffer.from('content')]);
  assert.equal(readFileSync(path, 'utf8'), 'new content');
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('a failed writeAtomic removes its temp file and keeps what was there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-atomic-'));
  const target = join(dir, 'taken');
  mkdirSync(target);
  writeFileSync(join(target, 'keep.txt'), 'user file');
  // rename(2) cannot replace a non-empty directory with a file
  assert.throws(() => writeAtomic(target, [Buffer.from('x')]));
  assert.deepEqual(readdirSync(dir), ['taken']);
  assert.equal(readFileSync(join(target, 'keep.txt'), 'utf8'), 'user file');
});
