import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobOutput, SidecarError } from '../../../src/protocol';
import { WorkerHost } from '../../../src/sidecar/server/worker-host';
import { JobQueue } from '../../../src/sidecar/server/queue';

// A worker thread that speaks the host's message protocol and dies when a job asks it to: the thread
// crashing is the input under test (the real pipelines cannot be made to crash on demand).
const CRASHY = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.params.crash === 'throw') setImmediate(() => { throw new Error('boom in the worker'); });
  else if (m.params.crash === 'exit') process.exit(7);
  else parentPort.postMessage({ type: 'done', jobId: m.jobId, output: JSON.stringify({ files: [], metadata: { ran: m.params.n } }) });
});
parentPort.postMessage({ type: 'ready' });`;

test('a crashing worker thread fails only its job; the next job gets a fresh worker', async () => {
  const host = new WorkerHost({ executionProviders: ['cpu'] }, () => ({ entry: CRASHY, eval: true }));
  const ends: Array<[string, string]> = [];
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  const done = (id: string, what: string) => {
    ends.push([id, what]);
    if (ends.length === 4) resolveAll();
  };
  const queue = new JobQueue(host, {
    job: () => undefined,
    progress: () => undefined,
    log: () => undefined,
    result: (id: string, o: JobOutput) => done(id, `ok ${o.metadata.ran}`),
    failed: (id: string, e: SidecarError) => done(id, `${e.code}: ${e.message}`),
  });
  for (const params of [{ n: 1 }, { crash: 'throw' }, { crash: 'exit' }, { n: 4 }]) queue.submit('generate', params, 'test');
  await all;
  assert.deepEqual(ends, [
    ['job-1', 'ok 1'],
    ['job-2', 'job_failed: the job worker crashed: boom in the worker'],
    ['job-3', 'job_failed: the job worker exited unexpectedly (code 7)'],
    ['job-4', 'ok 4'],
  ]);
  assert.equal(queue.get('job-2').state, 'failed');
  await host.terminate();
});
