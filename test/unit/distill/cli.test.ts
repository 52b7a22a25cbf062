/** `diffusion-studio distill` as a user runs it: a finished job prints its round folders; bad flags get a message, not a stack. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tmp = mkdtempSync(join(tmpdir(), 'distill-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
// A time limit, so a hang fails the test instead of the suite.
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/sidecar/cli/main.ts', 'distill', ...args], { encoding: 'utf8', timeout: 120_000 });

test('a guided run prints the folder of each round, and the folders exist', () => {
  const out = join(tmp, 'run');
  const r = cli('--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--from-steps', '2', '--to-steps', '1', '--iterations', '3', '--batch-size', '2', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [join(out, 'guided-2'), join(out, 'guided-1')]);
  assert.match(r.stderr, /round 2\/2 \(round, 1 steps\) step 3\/3 loss [\d.e-]+ [\d.]+ steps\/s ETA/);
  for (const d of ['guided-2', 'guided-1']) assert.ok(existsSync(join(out, d, 'unet', 'model.onnx')));
  const again = cli('--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--from-steps', '2', '--to-steps', '1', '--out', out);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /pass --resume/);
});

for (const [args, message] of [
  [['--mode', 'fast', '--teacher', 'x', '--to-steps', '4', '--out', 'y'], /--mode must be progressive or guided/],
  [['--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--to-steps', 'four', '--out', 'y'], /--to-steps must be a whole number/],
  [['--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--to-steps', '4', '--guidance-range', '3', '--out', 'y'], /--guidance-range must be min,max/],
  [['--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--to-steps', '4', '--trajectory', 'exact', '--out', 'y'], /--trajectory must be grid or scheduler, got "exact"/],
  [['--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--to-steps', '4', '--visited-share', '1.5', '--out', join(tmp, 't')], /the share of visited latents must be 0\.\.1, got 1\.5/],
  [['--mode', 'guided', '--teacher', 'no-such-model', '--to-steps', '4', '--out', join(tmp, 'z')], /no-such-model/],
  [['--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--to-steps', '4', '--student-channels', '16', '--out', join(tmp, 'w')], /not an embedded-family UNet/],
  [['--mode', 'progressive', '--teacher', 'emoji-base', '--to-steps', '4', '--student-channels', '32', '--out', join(tmp, 'v')], /guided distillation only/],
  [['--mode', 'guided', '--teacher', 'emoji-base', '--to-steps', '4', '--student-channels', '16', '--stage1-init', 'models/emoji-guided-4', '--out', join(tmp, 'u')], /stage-1 start .* does not fit the student .*\[32, 4, 3, 3\], the student's \[16, 4, 3, 3\]/],
] as const) {
  test(`refused with a message: ${args.join(' ')}`, () => {
    const r = cli(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
}

test('an --out folder that cannot be made is reported in one line, without hanging', () => {
  // Node 20's recursive mkdir never returns under /proc (io/folders.ts); distill makes folders one level at a time too.
  const r = cli('--mode', 'guided', '--teacher', 'test/fixtures/tiny-sd', '--from-steps', '2', '--to-steps', '1', '--iterations', '1', '--batch-size', '2', '--out', '/proc/ds-no-such/run');
  assert.equal(r.error, undefined, 'the command finished');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /diffusion-studio: .*\/proc\/ds-no-such/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
