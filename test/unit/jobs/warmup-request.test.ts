// The warm-up's request: the user's settings for a small model (its first image then finds everything
// compiled), a couple of steps for a UNet of Stable Diffusion's size (a whole image would be minutes of
// background CPU work, and the loop's compile time is noise beside its steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LARGE_UNET_BYTES, LARGE_WARMUP_STEPS, WARMUP_PROMPT, WARMUP_RUNS, warmupRequest, warmupRuns } from '../../../src/sidecar/jobs/warmup';

test('a small model is warmed with the settings the first request will have', () => {
  const r = warmupRequest('test/fixtures/tiny-sd', { steps: 30, guidanceScale: 5, width: 64, height: 64 }, '/tmp/w');
  assert.deepEqual(r, { steps: 30, guidanceScale: 5, width: 64, height: 64, model: 'test/fixtures/tiny-sd', prompt: WARMUP_PROMPT, seed: 0, outputDir: '/tmp/w' });
  assert.equal(warmupRequest('test/fixtures/tiny-sd', {}, '/tmp/w').steps, undefined, "no steps: the model's own");
});

test('a UNet over the size limit is warmed with at most a couple of steps', () => {
  const big = LARGE_UNET_BYTES + 1;
  assert.equal(warmupRequest('m', { steps: 50, guidanceScale: 7.5 }, '/tmp/w', big).steps, LARGE_WARMUP_STEPS);
  assert.equal(warmupRequest('m', {}, '/tmp/w', big).steps, LARGE_WARMUP_STEPS);
  assert.equal(warmupRequest('m', { steps: 1 }, '/tmp/w', big).steps, 1);
  assert.equal(warmupRequest('m', { guidanceScale: 7.5 }, '/tmp/w', big).guidanceScale, 7.5, 'the other settings kept');
});

test('a small model is warmed by running its request several times, a large one once', () => {
  assert.ok(WARMUP_RUNS > 1);
  assert.equal(warmupRuns(10_000_000), WARMUP_RUNS, 'the embedded models');
  assert.equal(warmupRuns(LARGE_UNET_BYTES + 1), 1, "Stable Diffusion's size: each run is minutes");
});
