import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarClient, SidecarError } from '../../../src/protocol';
import { FIXTURE, startSidecar } from './helpers';

test('kill -9 of the sidecar during a job: the client reports it within 1 s, no partial file under a final name', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ds-crash-'));
  const s = await startSidecar();
  try {
    // A finished job first: its file must survive the crash.
    const first = await (await s.client.generate({ model: FIXTURE, prompt: 'kept', steps: 1, outputDir: out })).done;
    let running: () => void = () => undefined;
    const midway = new Promise<void>((r) => (running = r));
    const job = await s.client.generate(
      { model: FIXTURE, prompt: 'doomed', steps: 1000, width: 256, height: 256, count: 4, outputDir: out },
      { onProgress: (p) => p.step > 5 && running() },
    );
    await midway;
    const t0 = performance.now();
    s.process.kill('SIGKILL');
    const [jobErr, closeErr] = await Promise.all([job.done.then(() => undefined, (e: SidecarError) => e), s.client.closed]);
    const ms = performance.now() - t0;
    console.log(`# kill -9 noticed after ${ms.toFixed(0)} ms: ${jobErr?.message}`);
    assert.ok(ms < 1000, `noticed after ${ms.toFixed(0)} ms`);
    assert.ok(jobErr instanceof SidecarError && jobErr.code === 'connection_lost', String(jobErr));
    assert.match(jobErr.message, new RegExp(`job ${job.jobId} failed: the sidecar connection closed`));
    assert.equal(closeErr.code, 'connection_lost');
    await assert.rejects(s.client.ping(), (e: SidecarError) => e.code === 'connection_lost');
    const names = readdirSync(out);
    assert.deepEqual(names.filter((n) => n.endsWith('.png')), [first.files[0].path.split('/').pop()], 'only the finished job\'s file');
  } finally {
    s.process.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});

test('a hung sidecar (SIGSTOP) is noticed by the heartbeat within two intervals', async () => {
  const s = await startSidecar();
  const client = await SidecarClient.connect({ url: s.banner.url, secret: s.secret, heartbeatMs: 200 });
  try {
    await client.ping();
    const t0 = performance.now();
    s.process.kill('SIGSTOP');
    const why = await client.closed;
    const ms = performance.now() - t0;
    console.log(`# SIGSTOP noticed after ${ms.toFixed(0)} ms (heartbeat 200 ms): ${why.message}`);
    assert.match(why.message, /did not answer a heartbeat within 200 ms/);
    assert.ok(ms < 600, `noticed after ${ms.toFixed(0)} ms`);
  } finally {
    s.process.kill('SIGKILL');
  }
});

test('shutdown during a job: the job ends cancelled (reported before the connection closes), then the sidecar exits', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ds-shutdown-'));
  const s = await startSidecar();
  try {
    let running: () => void = () => undefined;
    const midway = new Promise<void>((r) => (running = r));
    const job = await s.client.generate(
      { model: FIXTURE, prompt: 'interrupted', steps: 1000, width: 256, height: 256, outputDir: out },
      { onProgress: (p) => p.step > 2 && running() },
    );
    const queued = await s.client.generate({ model: FIXTURE, prompt: 'never', steps: 1, outputDir: out });
    await midway;
    const exited = new Promise<number | null>((r) => s.process.once('exit', (code) => r(code)));
    assert.equal((await s.client.shutdown()).cancelledJobs, 2);
    await assert.rejects(job.done, (e: SidecarError) => e.code === 'cancelled');
    await assert.rejects(queued.done, (e: SidecarError) => e.code === 'cancelled');
    assert.equal(await exited, 0);
    assert.deepEqual(readdirSync(out), [], 'no image and no staging folder left');
  } finally {
    s.process.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});
