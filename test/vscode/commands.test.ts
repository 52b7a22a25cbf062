/// <reference types="mocha" />
/** The extension activates, contributes what its manifest says, and honours its settings. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, setSetting, workspaceRoot } from './helpers';

describe('commands and settings', () => {
  it('registers every command its manifest contributes', async () => {
    await api();
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: Array<{ command: string }> } };
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = manifest.contributes.commands.map((c) => c.command);
    assert.ok(contributed.length >= 9, `only ${contributed.length} commands contributed`);
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it('builds generation parameters from the diffusionStudio.* settings', async () => {
    const { jobs } = await api();
    const restore = [
      await setSetting('steps', 7),
      await setSetting('guidanceScale', 3.5),
      await setSetting('scheduler', 'euler'),
      await setSetting('seedMode', 'fixed'),
      await setSetting('seed', 1234),
      await setSetting('size', 64),
      await setSetting('negativePrompt', 'blurry'),
      await setSetting('outputFolder', 'e2e-out/params'),
    ];
    try {
      const p = await jobs.generateParams({ prompt: 'a cat face', model: 'some-model' });
      assert.equal(p.steps, 7);
      assert.equal(p.guidanceScale, 3.5);
      assert.equal(p.scheduler, 'euler');
      assert.equal(p.seed, 1234);
      assert.equal(p.width, 64);
      assert.equal(p.height, 64);
      assert.equal(p.negativePrompt, 'blurry');
      assert.equal(p.outputDir, path.join(workspaceRoot(), 'e2e-out', 'params'));
    } finally {
      for (const r of restore) await r();
    }
  });

  it('draws a new seed for each generation when the seed mode is random', async () => {
    const { jobs } = await api();
    const restore = await setSetting('seedMode', 'random');
    try {
      const seeds = new Set<number | undefined>();
      for (let i = 0; i < 5; i++) seeds.add((await jobs.generateParams({ prompt: 'x', model: 'm' })).seed);
      assert.ok(seeds.size >= 4, `seeds repeat: ${[...seeds].join(', ')}`);
    } finally {
      await restore();
    }
  });

  it('lists the models of diffusionStudio.modelsFolders, with a distilled student described as such', async () => {
    const { models } = await api();
    models.invalidate();
    const list = await models.list();
    const ids = list.map((m) => m.id);
    assert.ok(ids.some((id) => id.endsWith('tiny-sd')), `tiny-sd missing from ${ids.join(', ')}`);
    const student = list.find((m) => m.id.endsWith('tiny-sd-guided'));
    assert.ok(student, `tiny-sd-guided missing from ${ids.join(', ')}`);
  });

  it('a model list made while the sidecar could not start is not kept: once it starts, its models appear', async () => {
    const { models, sidecar } = await api();
    await sidecar.stop();
    models.invalidate();
    const restore = await setSetting('sidecar.nodePath', '/nonexistent/node', vscode.ConfigurationTarget.Global);
    let restored = false;
    try {
      const without = (await models.list()).map((m) => m.id);
      assert.ok(!without.includes('emoji-base'), `the sidecar could not start, yet its models are listed: ${without.join(', ')}`);
      await restore();
      restored = true;
      const withSidecar = (await models.list()).map((m) => m.id);
      assert.ok(withSidecar.includes('emoji-base'), `the embedded model is missing once the sidecar runs: ${withSidecar.join(', ')}`);
    } finally {
      if (!restored) await restore();
    }
  });

  it('generates an image into the output folder without overwriting earlier ones', async function () {
    const { jobs, sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    const restore = [await setSetting('seedMode', 'fixed'), await setSetting('seed', 7), await setSetting('outputFolder', 'e2e-out/generate')];
    const previews: string[] = [];
    const sub = jobs.onDidUpdateJob((j) => j.preview && previews.push(j.preview));
    try {
      const first = await vscode.commands.executeCommand<Array<{ path: string }>>('diffusionStudio.generate', { prompt: 'a red apple' });
      assert.ok(previews.length > 0, 'no step preview reached the results panel while the job ran');
      assert.match(previews[0], /^data:image\/png;base64,iVBOR/);
      const second = await vscode.commands.executeCommand<Array<{ path: string }>>('diffusionStudio.generate', { prompt: 'a red apple' });
      assert.ok(first?.length && second?.length, 'generation returned no images');
      assert.notEqual(first[0].path, second[0].path, 'the second image overwrote the first');
      for (const f of [first[0].path, second[0].path]) {
        assert.equal(path.dirname(f), path.join(workspaceRoot(), 'e2e-out', 'generate'));
        assert.ok(fs.statSync(f).size > 0);
      }
      assert.deepEqual(fs.readFileSync(first[0].path), fs.readFileSync(second[0].path), 'same seed, different image');
      assert.equal(jobs.items.at(-1)?.path, second[0].path, 'the gallery does not hold the newest result');
    } finally {
      sub.dispose();
      for (const r of restore) await r();
    }
  });
});
