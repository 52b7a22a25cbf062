import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarError, type JobHandle, type SidecarClient } from '../../../src/protocol';
import { FIXTURE, connect, rssOf, startSidecar, stopSidecar } from './helpers';

const JOBS = 100;
const CLIENTS = 4;

test(`${JOBS} queued jobs from ${CLIENTS} clients finish or are cancelled, in priority order, memory flat`, async () => {
  const out = mkdtempSync(join(tmpdir(), 'ds-queue-'));
  const s = await startSidecar();
  const clients: SidecarClient[] = [s.client];
  for (let k = 1; k < CLIENTS; k++) clients.push(await connect(s));
  try {
    const started: string[] = [];
    const ended = new Set<string>();
    let rssAfter10 = 0;
    let succeeded = 0;
    s.client.on('job', ({ job }) => {
      if (job.state === 'running') started.push(job.jobId);
      if (job.state === 'succeeded' || job.state === 'cancelled' || job.state === 'failed') ended.add(job.jobId);
      if (job.state === 'succeeded' && ++succeeded === 10) rssAfter10 = rssOf(s.banner.pid);
    });
    // A blocker holds the device while all the tiny jobs queue up behind it; it is cancelled once they
    // are all in, so the test does not depend on the machine's speed.
    const blocker = await s.client.generate({ model: FIXTURE, prompt: 'blocker', steps: 1000, width: 256, height: 256, outputDir: out });
    const handles: Array<{ h: JobHandle; priority: 'interactive' | 'background' }> = [];
    const submitted = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => {
        const priority = i % 3 === 2 ? 'background' : 'interactive';
        const params = { model: FIXTURE, prompt: `job ${i}`, steps: 1 + (i % 2), seed: i, outputDir: out };
        return clients[i % CLIENTS].generate(params, { priority }).then((h) => ({ h, priority }) as const);
      }),
    );
    handles.push(...submitted);
    assert.equal((await s.client.jobStatus(blocker.jobId)).jobs[0].state, 'running', 'all jobs queued while the blocker ran');
    // Every job carries its prompt as label, for lists of jobs (the extension's Queue view), to every client.
    const listed = (await clients[1].jobStatus()).jobs;
    assert.equal(listed.find((j) => j.jobId === blocker.jobId)?.label, 'blocker');
    assert.equal(listed.find((j) => j.jobId === handles[5].h.jobId)?.label, 'job 5');
    // Cancel every 7th job while it waits, from a client that did not submit it.
    const cancelled = new Set<string>();
    for (let i = 0; i < JOBS; i += 7) {
      const id = handles[i].h.jobId;
      const r = await clients[(i + 1) % CLIENTS].cancel(id);
      assert.equal(r.state, 'cancelled');
      cancelled.add(id);
    }
    await s.client.cancel(blocker.jobId);
    await assert.rejects(blocker.done, (e: SidecarError) => e.code === 'cancelled');
    const outcomes = await Promise.all(handles.map(({ h }) => h.done.then(() => 'succeeded', (e: SidecarError) => e.code)));
    const rssEnd = rssOf(s.banner.pid);
    // A job's result reaches the client that submitted it; the broadcast of its states reaches this
    // client over another connection, possibly later. Each connection keeps its order, so once this
    // client has seen every job end, it has seen every job start.
    for (const t0 = Date.now(); handles.some(({ h }) => !ended.has(h.jobId)) && Date.now() - t0 < 10_000;) await new Promise((r) => setTimeout(r, 20));

    // Everything ended: succeeded, or cancelled exactly when we cancelled it.
    handles.forEach(({ h }, i) => assert.equal(outcomes[i], cancelled.has(h.jobId) ? 'cancelled' : 'succeeded', h.jobId));
    // Order: interactive jobs first, then background ones, each in the order the sidecar accepted them
    // (job ids are sequential; four connections interleave); cancelled jobs never ran.
    const seq = (id: string) => Number(id.slice('job-'.length));
    const inOrder = (p: string) =>
      handles.filter((x) => x.priority === p).map((x) => x.h.jobId).sort((a, b) => seq(a) - seq(b));
    const expected = [...inOrder('interactive'), ...inOrder('background')].filter((id) => !cancelled.has(id));
    const ranAfterBlocker = started.filter((id) => id !== blocker.jobId);
    assert.deepEqual(ranAfterBlocker, expected);
    assert.equal(expected.length, JOBS - cancelled.size);
    const pngs = readdirSync(out).filter((n) => n.endsWith('.png'));
    assert.equal(pngs.length, JOBS - cancelled.size);
    const growth = (rssEnd - rssAfter10) / rssAfter10;
    console.log(`# queue: ${JOBS} jobs (${cancelled.size} cancelled) from ${CLIENTS} clients; RSS after 10 jobs ${(rssAfter10 / 2 ** 20).toFixed(1)} MiB, after all ${(rssEnd / 2 ** 20).toFixed(1)} MiB (${(growth * 100).toFixed(1)}%)`);
    assert.ok(Math.abs(growth) <= 0.1, `RSS changed by ${(growth * 100).toFixed(1)}%`);
  } finally {
    for (const c of clients.slice(1)) c.close();
    await stopSidecar(s);
    rmSync(out, { recursive: true, force: true });
  }
});
