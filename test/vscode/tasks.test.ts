/// <reference types="mocha" />
/** The diffusion-distill task type: provided, resolved from tasks.json, mapped onto sidecar parameters. */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkDefinition } from '../../src/extension/tasks/distillDefinition';
import { distillParams, type DistillTaskDefinition } from '../../src/extension/tasks/distillTask';
import { api, workspaceRoot } from './helpers';

describe('distillation tasks', () => {
  it('provides a ready-made task and resolves the ones in tasks.json', async () => {
    await api();
    const tasks = await vscode.tasks.fetchTasks({ type: 'diffusion-distill' });
    assert.ok(tasks.length >= 1, 'no diffusion-distill task');
    for (const t of tasks) assert.ok(t.execution instanceof vscode.CustomExecution, `${t.name} is not a CustomExecution`);
    const configured = tasks.find((t) => t.name === 'e2e distill');
    assert.ok(configured, `the tasks.json task is missing; got ${tasks.map((t) => t.name).join(', ')}`);
    const def = configured.definition as DistillTaskDefinition;
    assert.equal(def.mode, 'guided');
    assert.equal(def.targetSteps, 2);
  });

  it('maps a definition onto distill parameters, with the output folder under the workspace', () => {
    const def: DistillTaskDefinition = { type: 'diffusion-distill', mode: 'progressive', teacher: 'tiny-sd', targetSteps: 2, iterations: 5, outputFolder: 'students/never-run' };
    const p = distillParams(def);
    assert.equal(p.method, 'progressive');
    assert.equal(p.teacher, 'tiny-sd');
    assert.equal(p.studentSteps, 2);
    assert.equal(p.iterationsPerRound, 5);
    assert.equal(p.outputDir, path.join(workspaceRoot(), 'students', 'never-run'));
    assert.equal(p.resume, undefined, 'a fresh folder must not be resumed');
    assert.equal(p.studentChannels, undefined);
    assert.equal(distillParams({ ...def, mode: 'guided', studentChannels: 32 }).studentChannels, 32);
    assert.equal(p.samplesPerRound, 4, 'the progress panel\'s samples by default');
    assert.equal(distillParams({ ...def, samples: 0 }).samplesPerRound, 0);
  });

  it('names the problem in a bad definition', () => {
    assert.match(checkDefinition({ type: 'diffusion-distill', mode: 'fast', teacher: 'x' }) ?? '', /"mode"/);
    assert.match(checkDefinition({ type: 'diffusion-distill', mode: 'guided' }) ?? '', /"teacher"/);
    assert.match(checkDefinition({ type: 'diffusion-distill', mode: 'guided', teacher: 'x', targetSteps: 0 }) ?? '', /"targetSteps"/);
    assert.match(checkDefinition({ type: 'diffusion-distill', mode: 'guided', teacher: 'x', studentChannels: 2.5 }) ?? '', /"studentChannels"/);
    assert.match(checkDefinition({ type: 'diffusion-distill', mode: 'guided', teacher: 'x', samples: 9 }) ?? '', /"samples"/);
    assert.equal(checkDefinition({ type: 'diffusion-distill', mode: 'guided', teacher: 'x', targetSteps: 4 }), undefined);
  });
});
