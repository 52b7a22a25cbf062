import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarError } from '../../../src/protocol';
import { toSidecarError } from '../../../src/sidecar/jobs/errors';
import { publishAll, withStagedImages, withStaging } from '../../../src/sidecar/jobs/staging';

test('a publish that fails midway names the files already published, and keeps them', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-publish-'));
  try {
    const staging = join(root, 'out', '.partial-1-job');
    const out = join(root, 'out');
    mkdirSync(staging, { recursive: true });
    // The second name cannot be claimed: it is taken, and it is 255 bytes long (the most a name may
    // have), so every numbered variant is too long (ENAMETOOLONG).
    const long = `2-${'b'.repeat(249)}.png`;
    const names = ['1-a.png', long, '3-c.png'];
    for (const name of names) writeFileSync(join(staging, name), `pixels of ${name}`);
    writeFileSync(join(out, long), 'the user\'s own');
    const files = names.map((n) => join(staging, n));
    const err = await publishAll(files, out).then(() => assert.fail('the publish should fail'), (e: unknown) => e);
    assert.ok(err instanceof SidecarError, String(err));
    const mapped = toSidecarError(err);
    assert.equal(mapped.code, 'io_error');
    assert.match(mapped.message, /^publishing 2-b+\.png into .*\/out failed \(ENAMETOOLONG/);
    assert.match(mapped.message, new RegExp(`already published and kept: ${join(out, '1-a.png').replace(/[/.]/g, '\\$&')}`));
    assert.match(mapped.message, /not published: 2-b+\.png, 3-c\.png$/);
    assert.equal(mapped.message.includes('\n'), false, 'one line');
    assert.equal(readFileSync(join(out, '1-a.png'), 'utf8'), 'pixels of 1-a.png', 'the published file is kept');
    assert.equal(readFileSync(join(out, long), 'utf8'), 'the user\'s own');
    assert.deepEqual(readdirSync(out).sort(), ['.partial-1-job', '1-a.png', long]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a publish that succeeds returns every final name in order and empties the staging folder', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-publish-'));
  try {
    const staging = join(root, '.partial-1-job');
    mkdirSync(staging);
    writeFileSync(join(root, 'x.png'), 'taken');
    const files = ['x.png', 'y.png'].map((n) => join(staging, n));
    for (const f of files) writeFileSync(f, 'new');
    assert.deepEqual(await publishAll(files, root), [join(root, 'x-1.png'), join(root, 'y.png')]);
    assert.deepEqual(readdirSync(staging), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a job stages in a hidden folder that is gone afterwards, published or failed; staging of a dead sidecar is swept', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-staging-'));
  try {
    const out = join(root, 'new', 'out'); // missing: made on the way
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has exited
    mkdirSync(join(out, `.partial-${dead}-job-7`), { recursive: true });
    writeFileSync(join(out, `.partial-${dead}-job-7`, 'half.png'), 'half an image');
    const live = join(out, `.partial-${process.pid}-job-other`); // a running job of this process: kept
    mkdirSync(live);
    const published = await withStaging(out, 'job-1', async (staging, outDir) => {
      assert.equal(outDir, out);
      assert.ok(existsSync(staging) && staging.startsWith(join(out, '.partial-')));
      writeFileSync(join(staging, 'a.png'), 'pixels');
      return publishAll([join(staging, 'a.png')], outDir);
    });
    assert.deepEqual(published, [join(out, 'a.png')]);
    assert.deepEqual(readdirSync(out).sort(), [`.partial-${process.pid}-job-other`, 'a.png'], 'the dead one swept, the live one kept');
    await assert.rejects(withStaging(out, 'job-2', async (staging) => {
      writeFileSync(join(staging, 'b.png'), 'never published');
      throw new Error('cancelled midway');
    }), /cancelled midway/);
    assert.deepEqual(readdirSync(out).sort(), [`.partial-${process.pid}-job-other`, 'a.png'], 'nothing of the failed job is left');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a generate job stages its images as hidden files and publishes them under free final names, or leaves nothing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-staged-'));
  try {
    const out = join(root, 'out');
    mkdirSync(out);
    writeFileSync(join(out, '1-cat.png'), 'the user\'s own');
    const names = await withStagedImages(out, 'job-3', async (stage) => {
      const a = stage.write(join(stage.out, '1-cat.png'), Buffer.from('first'));
      const b = stage.write(join(stage.out, '2-cat.png'), Buffer.from('second'));
      assert.deepEqual([a, b].map((f) => f.slice(out.length + 1)), [`.partial-${process.pid}-job-3-0.png`, `.partial-${process.pid}-job-3-1.png`]);
      assert.deepEqual(readdirSync(out).filter((n) => !n.startsWith('.')), ['1-cat.png'], 'nothing under a final name before the publish');
      return stage.publish();
    });
    assert.deepEqual(names, [join(out, '1-cat-1.png'), join(out, '2-cat.png')]);
    assert.equal(readFileSync(join(out, '1-cat.png'), 'utf8'), 'the user\'s own');
    assert.equal(readFileSync(join(out, '1-cat-1.png'), 'utf8'), 'first');
    await assert.rejects(withStagedImages(out, 'job-4', async (stage) => {
      stage.write(join(stage.out, '3-cat.png'), Buffer.from('never published'));
      throw new Error('cancelled after the first image');
    }), /cancelled after the first image/);
    assert.deepEqual(readdirSync(out).sort(), ['1-cat-1.png', '1-cat.png', '2-cat.png'], 'no staged file left');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
