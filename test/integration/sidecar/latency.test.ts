// What issue 20 added to make a request's latency visible and a first request as fast as later ones:
// the time breakdown in a generate result, the `warmup` request and `serve --preload`. Real sidecars,
// real WebSocket, real PNGs; no assertion on how long anything took (that is bench:latency's job).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { launchSidecar, SidecarError, type JobEvent, type LaunchedSidecar } from '../../../src/protocol';
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

test('warmup gets a model ready between jobs; a job sent meanwhile runs as usual; unknown models are refused naming them', async () => {
  const events: JobEvent['job'][] = [];
  s.client.on('job', (e) => events.push(e.job));
  const warm = s.client.warmup(FIXTURE);
  const job = await s.client.generate({ model: FIXTURE, prompt: 'during a warm-up', steps: 2, seed: 2, outputDir: out });
  const [w, r] = await Promise.all([warm, job.done]);
  assert.equal(w.model, FIXTURE);
  assert.ok(w.ms >= 0);
  assert.equal(r.files.length, 1);
  // The submitter's result comes before the state change every client gets (queue.ts: end), so wait for it.
  await new Promise<void>((resolve) => {
    const check = () => { if (events.some((e) => e.jobId === job.jobId && e.state === 'succeeded')) resolve(); };
    s.client.on('job', check);
    check();
  });
  assert.deepEqual(events.filter((e) => e.jobId === job.jobId).map((e) => e.state), ['queued', 'running', 'succeeded']);
  assert.deepEqual(readdirSync(out).filter((n) => n.endsWith('.png')).sort(), ['1-a-timed-circle.png', '2-during-a-warm-up.png'], 'the warm-up\'s image (seed 0) is written nowhere');
  await assert.rejects(s.client.warmup('no-such-model'), (e: SidecarError) => e.code === 'model_not_found' && /no-such-model: no such model folder or model name/.test(e.message));
  await assert.rejects(s.client.warmup(join(out, 'nothing-here')), (e: SidecarError) => e.code === 'model_not_found' && e.message.includes('nothing-here'));
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
