import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const bin = join(__dirname, '..', '..', '..', 'bin', 'diffusion-studio.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('--help names the program and exits 0', () => {
  const r = run('--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: diffusion-studio/);
});

test('an unknown command is refused with a message and a non-zero exit, not a stack trace', () => {
  const r = run('no-such-command');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown command|too many arguments/i);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('an output folder that cannot be made is reported in one line, without hanging or a stack trace', () => {
  // Node 20's recursive mkdir never returns under /proc; the folder is made one level at a time.
  const r = spawnSync(process.execPath, [bin, 'generate', 'a cat', '--steps', '1', '--out', '/proc/no-such/dir'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, 'the command finished');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /diffusion-studio: .*\/proc\/no-such/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
