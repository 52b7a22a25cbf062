/// <reference types="mocha" />
/** The Queue view: the sidecar's queued and running jobs, live, with Cancel. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobInfo } from '../../src/protocol';
import { api, setSetting, waitFor, workspaceRoot } from './helpers';

describe('Queue view', () => {
  const out = () => path.join(workspaceRoot(), 'e2e-out', 'queue');
  const pngs = () => (fs.existsSync(out()) ? fs.readdirSync(out()).filter((n) => n.endsWith('.png')) : []);
  let restore: Array<() => Thenable<void>> = [];
  before(async function () {
    const { sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    // The fixture, not a student an earlier test may have selected: a student samples with its own few
    // steps whatever the request says, and the 1000-step job would end before the second is queued.
    restore = [
      await setSetting('model', 'tiny-sd'),
      await setSetting('seedMode', 'fixed'),
      await setSetting('seed', 11),
      await setSetting('outputFolder', 'e2e-out/queue'),
    ];
  });
  after(async () => {
    for (const r of restore) await r();
  });

  it('lists a running and a queued job; Cancel takes the queued one out and it never writes a file', async () => {
    const { jobs, queue, sidecar } = await api();
    const row = (prompt: string) => queue.rows.find((j) => j.label === prompt);
    const outcome = (p: Promise<unknown>) => p.then(() => 'finished', (e: Error & { code?: string }) => e.code ?? e.message);
    // What the sidecar said of each job, for the message if the view never shows both.
    const said: string[] = [];
    const client = await sidecar.ensure();
    const onJob = (e: { job: JobInfo }) => said.push(`${e.job.label}: ${e.job.state}`);
    client.on('job', onJob);
    // Asked one right after the other, they reach the sidecar in that order (the first is not overtaken
    // while it waits for the model list). The first is long enough to still run while the second waits
    // (the tiny test model: a few seconds).
    const first = outcome(jobs.generate({ prompt: 'queue first long', steps: 1000, count: 16 }));
    const second = outcome(jobs.generate({ prompt: 'queue second waits', steps: 2, count: 1 }));
    const [, queued] = await waitFor('both jobs in the view', () => {
      const a = row('queue first long');
      const b = row('queue second waits');
      return a?.state === 'running' && b?.state === 'queued' ? [a, b] : undefined;
    }, 60_000, () => JSON.stringify({ rows: queue.rows.map((j) => [j.label, j.state]), said }));
    client.off('job', onJob);
    assert.deepEqual(queue.rows.map((j) => j.label), ['queue first long', 'queue second waits'], 'running first, then the queue');
    assert.equal(queue.getTreeItem(queued).description, 'generate · queued');
    assert.equal(queue.getTreeItem(queued).contextValue, 'job.queued', 'the Cancel action applies');
    await waitFor('progress on the running row', () => /^generate · \d+% · denoise$/.test(String(queue.getTreeItem(row('queue first long')!).description)));
    assert.equal(await vscode.commands.executeCommand('diffusionStudio.cancelQueuedJob', queued), 'cancelled');
    assert.equal(await second, 'cancelled');
    assert.equal(row('queue second waits'), undefined, 'the cancelled job left the view');
    assert.ok(row('queue first long'), 'the running job is still listed');
    // The first job finishes; the cancelled one never runs after it.
    assert.equal(await first, 'finished');
    await waitFor('the view to empty', () => queue.rows.length === 0);
    assert.equal(pngs().length, 16, 'the first job\'s images only');
    assert.ok(!pngs().some((n) => n.includes('queue-second-waits')), 'the cancelled job wrote a file');
    const { jobs: known } = await (await sidecar.ensure()).jobStatus(queued.jobId);
    assert.equal(known[0].state, 'cancelled');
  });

  it('Cancel on the running job stops it and empties the view; with nothing selected Cancel does nothing', async () => {
    const { jobs, queue } = await api();
    const job = jobs.generate({ prompt: 'queue running cancelled', steps: 1000, count: 64 }).then(() => 'finished', (e: Error & { code?: string }) => e.code);
    const running = await waitFor('the job to run', () => queue.rows.find((j: JobInfo) => j.label === 'queue running cancelled' && j.state === 'running'), 60_000);
    assert.equal(await vscode.commands.executeCommand('diffusionStudio.cancelQueuedJob', running), 'running', 'a running job stops at its next step');
    assert.equal(await job, 'cancelled');
    await waitFor('the view to empty', () => queue.rows.length === 0);
    assert.equal(await vscode.commands.executeCommand('diffusionStudio.cancelQueuedJob'), undefined);
  });
});
