// A distillation's sample rows over a real sidecar: each finished phase's student draws the same
// prompts and seeds at its own step count, written to samples/ and sent once as a `samples k/n`
// progress event whose preview is that row (what the Distillation Progress panel shows).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { LaunchedSidecar, ProgressEvent } from '../../../src/protocol';
import { FIXTURE, startSidecar, stopSidecar } from './helpers';

let s: LaunchedSidecar;
const out = mkdtempSync(join(tmpdir(), 'ds-distill-samples-'));

before(async () => {
  s = await startSidecar();
});
after(async () => {
  await stopSidecar(s);
  rmSync(out, { recursive: true, force: true });
});

const parameters = async (file: string) => String((await sharp(file).metadata()).comments?.find((c) => c.keyword === 'parameters')?.text);

test('each finished phase sends its sample row as it ends, equal to samples/round-k.png, drawn at the student\'s own steps', async () => {
  const stages: ProgressEvent[] = [];
  const student = join(out, 'student');
  const job = await s.client.distill(
    { teacher: FIXTURE, outputDir: student, method: 'progressive', teacherSteps: 4, studentSteps: 1, iterationsPerRound: 3, batchSize: 1, samplesPerRound: 3 },
    { onProgress: (p) => stages.push(p) },
  );
  const r = await job.done;
  assert.equal(r.files.filter((f) => f.kind === 'model').length, 2);
  const names = stages.map((p) => p.stage);
  const rows = stages.filter((p) => p.stage.startsWith('samples'));
  assert.deepEqual(rows.map((p) => p.stage), ['samples 1/2', 'samples 2/2'], 'one row per phase, once');
  assert.ok(names.indexOf('samples 1/2') > names.lastIndexOf('round 1/2'), 'round 1\'s row after its training');
  for (const [k, row] of rows.entries()) {
    const file = join(student, 'samples', `round-${k + 1}.png`);
    const [sent, onDisk] = await Promise.all([row.preview!, readFileSync(file)].map((b) => sharp(typeof b === 'string' ? Buffer.from(b, 'base64') : b).raw().toBuffer({ resolveWithObject: true })));
    assert.deepEqual(sent.info, onDisk.info);
    assert.ok(sent.data.equals(onDisk.data), `the row sent for phase ${k + 1} is the PNG written`);
    assert.equal(sent.info.width, 3 * sent.info.height, 'three samples side by side');
    assert.equal(row.metrics?.studentSteps, 2 - k);
  }
  for (let i = 1; i <= 3; i++) {
    const [a, b] = await Promise.all([1, 2].map((k) => parameters(join(student, 'samples', `round-${k}-${i}.png`))));
    assert.match(a, /Steps: 2,/);
    assert.match(b, /Steps: 1,/);
    const promptAndSeed = (p: string) => [p.split('\n')[0], /Seed: (\d+)/.exec(p)?.[1]];
    assert.deepEqual(promptAndSeed(a), promptAndSeed(b), 'the same prompt and seed in both rounds');
  }
});
