/// <reference types="mocha" />
/**
 * A distillation task's terminal against the real sidecar: stopping it mid-run ends the job with a
 * checkpoint, running it again resumes and finishes, and the student joins the model list.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DistillTerminal, type DistillTaskDefinition } from '../../src/extension/tasks/distillTask';
import { api, workspaceRoot } from './helpers';

interface Run {
  output: () => string;
  exit: Promise<number>;
  terminal: DistillTerminal;
}

/** Opens the task's terminal; `closeAtOnce` closes it in the same tick, as a user closing it while it starts. */
async function start(def: DistillTaskDefinition, closeAtOnce = false): Promise<Run> {
  const { sidecar, models, distill } = await api();
  const terminal = new DistillTerminal(def, sidecar, models, distill.progress);
  let text = '';
  terminal.onDidWrite((t) => (text += t));
  const exit = new Promise<number>((resolve) => terminal.onDidClose((code) => resolve(code)));
  terminal.open();
  if (closeAtOnce) terminal.close();
  return { output: () => text, exit, terminal };
}

describe('distillation task run', () => {
  it('stops with a checkpoint, resumes, and lists the student', async function () {
    const { sidecar, models } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.distill) this.skip();
    const folder = 'students/stop-resume';
    fs.rmSync(path.join(workspaceRoot(), folder), { recursive: true, force: true });
    const def: DistillTaskDefinition = { type: 'diffusion-distill', mode: 'progressive', teacher: 'tiny-sd', targetSteps: 4, iterations: 6, outputFolder: folder };

    const first = await start(def);
    const until = Date.now() + 60_000;
    while (!/step \d+\/\d+/.test(first.output()) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    first.terminal.close();
    const firstCode = await first.exit;
    if (firstCode === 0) this.skip(); // the whole job finished before the stop arrived: nothing to resume
    assert.equal(firstCode, 130, first.output());
    assert.match(first.output(), /checkpoint saved/);

    const second = await start(def);
    assert.equal(await second.exit, 0, second.output());
    assert.match(second.output(), /resuming the earlier run/);
    assert.match(second.output(), /done: the student is in the model list/);
    const list = await models.list();
    assert.ok(list.some((m) => m.id.includes('stop-resume')), `student missing from ${list.map((m) => m.id).join(', ')}`);
  });

  it('closing the terminal before the job is submitted leaves no job running', async () => {
    const { sidecar } = await api();
    const client = await sidecar.ensure();
    const folder = 'students/closed-early';
    fs.rmSync(path.join(workspaceRoot(), folder), { recursive: true, force: true });
    const before = new Set((await client.jobStatus()).jobs.map((j) => j.jobId));
    const run = await start({ type: 'diffusion-distill', mode: 'progressive', teacher: 'tiny-sd', targetSteps: 4, iterations: 6, outputFolder: folder }, true);
    assert.equal(await run.exit, 130, run.output());
    assert.match(run.output(), /stopped before the job was submitted/);
    await new Promise((r) => setTimeout(r, 500));
    const started = (await client.jobStatus()).jobs.filter((j) => !before.has(j.jobId) && j.kind === 'distill');
    assert.deepEqual(started.map((j) => `${j.jobId} ${j.state}`), [], 'a distill job was started anyway');
    assert.ok(!fs.existsSync(path.join(workspaceRoot(), folder)), 'the student folder was created');
  });
});
