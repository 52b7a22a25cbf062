import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/sidecar/cli/main.ts', 'eval', ...args], { encoding: 'utf8' });
}

test('eval rejects bad settings with a clear message and exit code 2', () => {
  const bad = cli('--scheduler', 'nope');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--scheduler: unknown scheduler "nope"/);
  assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const count = cli('--count', 'many');
  assert.equal(count.status, 2);
  assert.match(count.stderr, /--count must be a whole number/);
});

test('eval names a missing model folder', () => {
  const r = cli('--model', '/nonexistent/model-folder', '--count', '4');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /nonexistent/);
});

test('eval takes any 32-bit seed, and one whose images would run past 2^32 - 1 is refused in one line', () => {
  const high = cli('--model', 'emoji-base', '--seed', String(2 ** 31 + 5), '--count', '2', '--steps', '1', '--json');
  assert.equal(high.status, 0, high.stderr);
  assert.equal(JSON.parse(high.stdout).seed, 2 ** 31 + 5);
  const over = cli('--model', 'emoji-base', '--seed', String(2 ** 32 - 1), '--count', '2', '--steps', '1');
  assert.equal(over.status, 2);
  assert.match(over.stderr, /the seed must be an integer from 0 to 4294967294 for 2 images/);
  assert.doesNotMatch(over.stderr, /at .*\.ts:\d+/, 'no stack trace');
});

test('eval on a folder without the family image encoder names the missing file', () => {
  const r = cli('--model', 'test/fixtures/tiny-sd', '--count', '2', '--steps', '1');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /tiny-sd\/image_encoder\/model\.onnx: is missing/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
});
