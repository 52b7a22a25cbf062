/// <reference types="mocha" />
/** X/Y Plot: one sidecar job per plot, a PNG per cell plus the labelled grid, cancel as one. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseParameters, readTextChunks } from '../../src/protocol';
import { api, setSetting, waitFor, workspaceRoot } from './helpers';

type Items = Array<{ path: string; sheet?: boolean; title: string; jobId: string; request: { model: string } }>;

describe('X/Y Plot', () => {
  const out = () => path.join(workspaceRoot(), 'e2e-out', 'xyplot');
  const pngs = () => (fs.existsSync(out()) ? fs.readdirSync(out()).filter((n) => n.endsWith('.png')) : []);
  const fields = (file: string) => parseParameters(readTextChunks(fs.readFileSync(file)).parameters).fields;
  let restore: Array<() => Thenable<void>> = [];
  before(async function () {
    const { sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.xyplot) this.skip();
    restore = [await setSetting('seedMode', 'fixed'), await setSetting('seed', 9), await setSetting('outputFolder', 'e2e-out/xyplot')];
  });
  after(async () => {
    for (const r of restore) await r();
  });

  it('compares a teacher with its distilled student as one job: a PNG per cell and the grid, in the gallery', async () => {
    const { jobs, sidecar } = await api();
    const client = await sidecar.ensure();
    const kinds: string[] = [];
    const onJob = (e: { job: { kind: string; state: string } }) => e.job.state === 'queued' && kinds.push(e.job.kind);
    client.on('job', onJob);
    const items = await vscode.commands.executeCommand<Items>('diffusionStudio.xyPlot', {
      prompt: 'cat face', x: { setting: 'model', values: 'emoji-base, emoji-guided-4' }, y: { setting: 'seed', values: '1-2' },
    });
    client.off('job', onJob);
    assert.equal(items?.length, 5, 'four cells and the grid');
    assert.deepEqual(kinds, ['xyplot'], 'one job in the sidecar queue');
    for (const i of items) assert.equal(path.dirname(i.path), out());
    const cells = items.slice(0, 4).map((i) => fields(i.path));
    assert.deepEqual(cells.map((f) => f.Model), ['emoji-base', 'emoji-guided-4', 'emoji-base', 'emoji-guided-4']);
    assert.deepEqual(cells.map((f) => f.Seed), ['1', '1', '2', '2']);
    assert.equal(cells[1].Steps, '4', 'the student samples with the steps it was distilled for');
    const grid = items[4];
    assert.equal(grid.sheet, true, 'the grid is shown wide');
    assert.equal(fields(grid.path)['X Values'], 'emoji-base, emoji-guided-4');
    assert.equal(fields(grid.path)['Y Type'], 'Seed');
    assert.ok(items.every((i) => i.jobId === items[0].jobId), 'one group in the gallery');
    assert.equal(items[1].request.model, 'emoji-guided-4', 'Re-run of a cell uses that cell\'s model');
    assert.ok(jobs.items.some((i) => i.path === grid.path));
    assert.equal(pngs().length, 5);
  });

  it('refuses bad axis values before anything runs, and writes nothing', async () => {
    const before = pngs().length;
    const bad = [
      { x: { setting: 'steps', values: '4, 2000' }, y: { setting: 'seed', values: '1' } },
      { x: { setting: 'model', values: 'emoji-base, no-such-model' }, y: { setting: 'seed', values: '1' } },
      { x: { setting: 'seed', values: '1' }, y: { setting: 'seed', values: '2' } },
    ];
    for (const axes of bad) assert.equal(await vscode.commands.executeCommand('diffusionStudio.xyPlot', { prompt: 'x', ...axes }), undefined);
    assert.equal(pngs().length, before);
  });

  it('Cancel Job stops the whole plot: no cell is written', async () => {
    const { jobs } = await api();
    const before = pngs();
    const restoreSize = await setSetting('size', 256);
    try {
      const plot = vscode.commands.executeCommand('diffusionStudio.xyPlot', {
        prompt: 'a long plot', x: { setting: 'seed', values: '1-4' }, y: { setting: 'steps', values: '1000, 999' },
      });
      const job = await waitFor('the plot to run', () => jobs.running.find((j) => j.kind === 'xyplot' && j.state === 'running'), 60_000);
      assert.equal(job.total, 8, 'progress counts the cells');
      assert.equal(await vscode.commands.executeCommand('diffusionStudio.cancelJob'), true);
      assert.equal(await plot, undefined);
      assert.equal(jobs.jobs.get(job.jobId)?.state, 'cancelled');
      assert.deepEqual(pngs(), before, 'a cancelled plot publishes nothing');
    } finally {
      await restoreSize();
    }
  });
});
