import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkExclusive, writeExclusiveSync } from '../../../src/sidecar/io/outputs';

test('writing a result never overwrites: a taken name gets the next free number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-out-'));
  const path = join(dir, '1-a-swan.png');
  writeFileSync(path, 'the user\'s own picture');
  writeFileSync(join(dir, '1-a-swan-7.png'), 'another of theirs');
  const written = writeExclusiveSync(path, Buffer.from('new image'));
  assert.equal(written, join(dir, '1-a-swan-8.png'));
  assert.equal(readFileSync(path, 'utf8'), 'the user\'s own picture');
  assert.equal(readFileSync(written, 'utf8'), 'new image');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left behind');
});

// /dev/shm is a tmpfs, the temp folder is not: link(2) between them fails with EXDEV, as it fails with
// EPERM on exFAT/FAT and many network shares. Publishing must still work, and still never overwrite.
const shm = '/dev/shm';
const otherDevice = existsSync(shm) && statSync(shm).dev !== statSync(tmpdir()).dev;

test('where hard links cannot be made, the result is claimed by an exclusive create instead', { skip: otherDevice ? false : `${shm} is not a separate file system here` }, () => {
  const staging = mkdtempSync(join(shm, 'ds-staging-'));
  const dir = mkdtempSync(join(tmpdir(), 'ds-out-'));
  try {
    const src = join(staging, 'image.png');
    writeFileSync(src, 'fresh pixels');
    const target = join(dir, 'image.png');
    writeFileSync(target, 'already there');
    const first = linkExclusive(src, target);
    const second = linkExclusive(src, target);
    assert.deepEqual([first, second], [join(dir, 'image-1.png'), join(dir, 'image-2.png')]);
    assert.equal(readFileSync(target, 'utf8'), 'already there');
    assert.equal(readFileSync(first, 'utf8'), 'fresh pixels');
    assert.equal(readFileSync(second, 'utf8'), 'fresh pixels');
    assert.equal(statSync(first).nlink, 1, 'a copy, not a link');
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
});
