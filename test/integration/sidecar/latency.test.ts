// What issue 20 added to make a request's latency visible and a first request as fast as later ones:
// the time breakdown in a generate result, the `warmup` request and `serve --preload`. Real sidecars,
// real WebSocket, real PNGs; no assertion on how long anything took (that is bench:latency's job).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { launchSidecar, SidecarError, type LaunchedSidecar } from '../../../src/protocol';
import { CLI, FIXTURE, ROOT, runServe, startSidecar, stopSidecar } from './helpers';

let s: LaunchedSidecar;
const out = mkdtempSync(join(tmpdir(), 'ds-latency-'));

before(async () => {
  s = await startSidecar();
});
after(async () => {
  await stopSidecar(s);
  rmSync(out, { recursive: true, force: true });
});

test('a generate result says where its time went: every part measured, adding up to the sidecar\'s time, within the client\'s', async () => {
  const t0 = performance.now();
  const r = await (await s.client.generate({ model: FIXTURE, prompt: 'a timed circle', steps: 3, seed: 1, outputDir: out })).done;
  const wall = performance.now() - t0;
  assert.equal((await sharp(r.files[0].path).metadata()).format, 'png');
  const t = r.timings;
  assert.ok(t, 'the result carries timings');
  const parts = [t.ortMs, t.loadMs, t.pipelineMs, t.pngMs, t.filesMs, t.jobPathMs];
  assert.ok(parts.every((x) => typeof x === 'number' && x >= 0), `every part measured and not negative: ${JSON.stringify(t)}`);
  assert.ok(t.ortMs! > 0 && t.pngMs! > 0 && t.filesMs! > 0, `ORT, PNG and files took some time: ${JSON.stringify(t)}`);
  const sum = parts.reduce((a, b) => a! + b!, 0)!;
  assert.ok(Math.abs(sum - t.serverMs!) < 1e-6, `the parts add up to serverMs: ${sum} vs ${t.serverMs}`);
  assert.ok(t.serverMs! <= wall, `the sidecar's time (${t.serverMs} ms) lies within the client's (${wall} ms)`);
  const status = await s.client.jobStatus(r.jobId);
  assert.deepEqual(status.jobs[0].output?.timings, t, 'jobStatus reports the same breakdown');
  assert.deepEqual(readdirSync(out).filter((n) => n.startsWith('.partial')), [], 'nothing staged is left');
});

test('an output folder removed right after a job is made again by the next one (its check is not repeated within 2 s)', async () => {
  const dir = join(out, 'removed');
  await (await s.client.generate({ model: FIXTURE, prompt: 'first', steps: 1, seed: 4, outputDir: dir })).done;
  rmSync(dir, { recursive: true });
  const r = await (await s.client.generate({ model: FIXTURE, prompt: 'second', steps: 1, seed: 5, outputDir: dir })).done;
  assert.deepEqual(readdirSync(dir), ['5-second.png']);
  assert.equal(r.files[0].path, join(dir, '5-second.png'));
});

test('warmup runs the first request\'s settings through the job path and leaves nothing: no file, no folder, no job or event a client sees', async () => {
  // A private temporary folder for this sidecar, to see what the warm-up leaves there.
  const tmp = mkdtempSync(join(tmpdir(), 'ds-warmup-tmp-'));
  const w = await launchSidecar({ command: CLI, args: ['--device', 'cpu'], cwd: ROOT, env: { ...process.env, TMPDIR: tmp } });
  try {
    const seen: string[] = [];
    for (const type of ['job', 'progress', 'result', 'log'] as const) w.client.on(type, (e: { jobId?: string; job?: { jobId: string } }) => seen.push(e.jobId ?? e.job!.jobId));
    const settings = { steps: 3, guidanceScale: 2.5, scheduler: 'euler', width: 32, height: 32, count: 2, previewEvery: 1 } as const;
    const r = await w.client.warmup(FIXTURE, settings);
    assert.equal(r.model, FIXTURE);
    assert.ok(r.completed === true && r.ms >= 0, `it ran to the end: ${JSON.stringify(r)}`);
    assert.equal(r.runs, 3, 'a small model: the request ran three times');
    const job = await w.client.generate({ model: FIXTURE, prompt: 'after a warm-up', ...settings, seed: 2, outputDir: out });
    assert.equal((await job.done).files.length, 2);
    assert.deepEqual([...new Set(seen)], [job.jobId], 'every event the client got is its own job\'s');
    assert.deepEqual((await w.client.jobStatus()).jobs.map((j) => j.jobId), [job.jobId], 'the warm-up is no job of the client\'s');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('diffusion-studio-warmup-')), [], 'its temporary folder is removed');
    assert.ok(!readdirSync(out).some((n) => n.includes('warm-up image')), 'its images are written nowhere else');
    // Settings a request could not have are refused, naming the field, before anything runs.
    await assert.rejects(w.client.warmup(FIXTURE, { steps: 0 }), (e: SidecarError) => e.code === 'invalid_params' && /warmup\.params\.steps/.test(e.message));
    await assert.rejects(w.client.request('warmup', { model: FIXTURE, params: { prompt: 'x' } } as never), (e: SidecarError) => e.code === 'invalid_params' && /prompt/.test(e.message));
  } finally {
    await stopSidecar(w);
    rmSync(tmp, { recursive: true, force: true });
  }
  await assert.rejects(s.client.warmup('no-such-model'), (e: SidecarError) => e.code === 'model_not_found' && /no-such-model: no such model folder or model name/.test(e.message));
  await assert.rejects(s.client.warmup(join(out, 'nothing-here')), (e: SidecarError) => e.code === 'model_not_found' && e.message.includes('nothing-here'));
});

test('a request sent while a long warm-up runs does not wait for it: the warm-up stops at its next step and says it gave way', async () => {
  // The warm-up waits behind a user's job; once that job's result is in, the warm-up is on the worker.
  const first = await s.client.generate({ model: FIXTURE, prompt: 'before the warm-up', steps: 50, seed: 6, outputDir: out });
  const warm = s.client.warmup(FIXTURE, { steps: 1000 });
  await first.done;
  const job = await s.client.generate({ model: FIXTURE, prompt: 'while it warms', steps: 2, seed: 7, outputDir: out });
  const r = await job.done;
  assert.equal(r.files.length, 1);
  const gaveWay = await warm;
  assert.equal(gaveWay.completed, false, 'the warm-up stopped before its end');
  assert.equal(gaveWay.runs, 1, 'and did not run again');
  assert.deepEqual((await s.client.jobStatus(job.jobId)).jobs[0].state, 'succeeded');
});

test('serve --preload warms the model up once it listens; a missing model stops it before it listens, naming the models it knows', async () => {
  const log: string[] = [];
  const p = await launchSidecar({ command: CLI, args: ['--device', 'cpu', '--preload', FIXTURE], cwd: ROOT, onStderr: (l) => log.push(l) });
  try {
    const r = await (await p.client.generate({ model: FIXTURE, prompt: 'after a preload', steps: 2, seed: 3, outputDir: out })).done;
    assert.equal(r.files.length, 1);
    assert.ok(log.some((l) => l.includes(`preloaded ${FIXTURE} in`)), `the log says so: ${log.join('\n')}`);
  } finally {
    await stopSidecar(p);
  }
  const bad = await runServe(['--device', 'cpu', '--preload', 'no-such-model']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '', 'no banner: nothing listens');
  assert.match(bad.stderr, /--preload no-such-model: .*no such model folder or model name \(known models: .*emoji-base/);
});
