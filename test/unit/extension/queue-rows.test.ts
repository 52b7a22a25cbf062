// What a Queue view row says (no VS Code): the prompt as label, kind and progress or "queued" as
// description, and the order running first, then the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobInfo } from '../../../src/protocol';
import { isLive, jobDescription, jobLabel, queueOrder } from '../../../src/extension/queue/queueRows';

const job = (over: Partial<JobInfo>): JobInfo => ({ jobId: 'job-1', kind: 'generate', state: 'queued', priority: 'interactive', createdAt: 1, ...over });

test('the label is the prompt, shortened to 80 characters; without one, the kind and id', () => {
  assert.equal(jobLabel(job({ label: '  a cat  ' })), 'a cat');
  const long = jobLabel(job({ label: 'x'.repeat(120) }));
  assert.equal(long.length, 80);
  assert.ok(long.endsWith('…'));
  assert.equal(jobLabel(job({})), 'generate job-1');
  assert.equal(jobLabel(job({ label: '   ' })), 'generate job-1');
});

test('the description: queued, the percentage with the stage, or "running" when no progress reaches this window', () => {
  assert.equal(jobDescription(job({})), 'generate · queued');
  assert.equal(jobDescription(job({ kind: 'xyplot', state: 'running', step: 3, total: 8, stage: 'cell 3/8' })), 'xyplot · 37% · cell 3/8');
  assert.equal(jobDescription(job({ state: 'running', step: 0, total: 40 })), 'generate · 0%');
  assert.equal(jobDescription(job({ kind: 'distill', state: 'running' })), 'distill · running');
});

test('the sidecar\'s order: running, then interactive before background, each oldest first', () => {
  const rows = queueOrder([
    job({ jobId: 'job-9', priority: 'background', createdAt: 1 }),
    job({ jobId: 'job-12', createdAt: 5 }),
    job({ jobId: 'job-11', createdAt: 5 }),
    job({ jobId: 'job-10', state: 'running', priority: 'background', createdAt: 2 }),
    job({ jobId: 'job-4', createdAt: 3 }),
  ]);
  assert.deepEqual(rows.map((j) => j.jobId), ['job-10', 'job-4', 'job-11', 'job-12', 'job-9']);
  assert.deepEqual((['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const).map(isLive), [true, true, false, false, false]);
});
