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
