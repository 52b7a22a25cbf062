/// <reference types="mocha" />
/** PNG info and "Re-run with these parameters": read back from the PNG, filled into the side panel. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, setSetting, workspaceRoot } from './helpers';

interface Fill { prompt: string; settings: Record<string, unknown>; skipped: string[] }
const KEYS = ['model', 'guidanceScale', 'steps', 'scheduler', 'seedMode', 'seed', 'negativePrompt', 'size'];

/** Sets the keys in the workspace settings (where the fill then writes them); returns a restore of both levels. */
async function workspaceSettings(values: Record<string, unknown>): Promise<() => Promise<void>> {
  const c = () => vscode.workspace.getConfiguration('diffusionStudio');
  const before = KEYS.map((k) => [k, c().inspect(k)?.workspaceValue, c().inspect(k)?.globalValue] as const);
  for (const [k, v] of Object.entries(values)) await c().update(k, v, vscode.ConfigurationTarget.Workspace);
  return async () => {
    for (const [k, w, g] of before) {
      await c().update(k, w, vscode.ConfigurationTarget.Workspace);
      await c().update(k, g, vscode.ConfigurationTarget.Global);
    }
  };
}

describe('PNG info and Re-run with These Parameters', () => {
  const images = () => path.join(workspaceRoot(), 'images');

  it('shows the parameters of another tool\'s PNG, and refuses a PNG that has none', async () => {
    await api();
    const info = await vscode.commands.executeCommand<{ prompt: string; fields: Record<string, string> }>('diffusionStudio.showPngInfo', vscode.Uri.file(path.join(workspaceRoot(), 'a1111', 'lighthouse.png')));
    assert.equal(info?.prompt, 'a watercolor painting of a lighthouse, dramatic sky');
    assert.equal(info.fields.Sampler, 'DPM++ 2M');
    assert.equal(await vscode.commands.executeCommand('diffusionStudio.showPngInfo', vscode.Uri.file(path.join(images(), 'cat.png'))), undefined);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('fills the settings from another tool\'s PNG and names the model it does not have', async () => {
    const restore = await workspaceSettings(Object.fromEntries(KEYS.map((k) => [k, vscode.workspace.getConfiguration('diffusionStudio').get(k)])));
    const model = vscode.workspace.getConfiguration('diffusionStudio').get('model');
    try {
      const fill = await vscode.commands.executeCommand<Fill>('diffusionStudio.rerunWithParameters', vscode.Uri.file(path.join(workspaceRoot(), 'a1111', 'lighthouse.png')));
      assert.equal(fill?.prompt, 'a watercolor painting of a lighthouse, dramatic sky');
      const c = vscode.workspace.getConfiguration('diffusionStudio');
      assert.deepEqual(
        { steps: c.get('steps'), scheduler: c.get('scheduler'), guidanceScale: c.get('guidanceScale'), seedMode: c.get('seedMode'), seed: c.get('seed'), negativePrompt: c.get('negativePrompt') },
        { steps: 28, scheduler: 'dpmpp_2m_karras', guidanceScale: 6.5, seedMode: 'fixed', seed: 1234567, negativePrompt: 'blurry, lowres' },
      );
      assert.equal(c.get('model'), model, 'a model this machine does not have replaced the current one');
      assert.deepEqual(fill.skipped.map((s) => s.split(':')[0]), ['Model "v1-5-pruned-emaonly"']);
    } finally {
      await restore();
    }
  });

  it('re-running one of its own PNGs with its parameters gives the same image', async function () {
    const { sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    const out = path.join(workspaceRoot(), 'e2e-out', 'png-info');
    const restore = await workspaceSettings({ seedMode: 'fixed', seed: 5, steps: 3, scheduler: 'euler', guidanceScale: 2 });
    const restoreOut = await setSetting('outputFolder', 'e2e-out/png-info');
    try {
      const [first] = (await vscode.commands.executeCommand<Array<{ path: string }>>('diffusionStudio.generate', { prompt: 'a blue whale' }))!;
      // Other settings now: the fill has to bring back every one that matters.
      await workspaceSettings({ seedMode: 'random', steps: 7, scheduler: 'auto', guidanceScale: null });
      const fill = await vscode.commands.executeCommand<Fill>('diffusionStudio.rerunWithParameters', vscode.Uri.file(first.path));
      assert.deepEqual(fill?.skipped, []);
      const [again] = (await vscode.commands.executeCommand<Array<{ path: string }>>('diffusionStudio.generate', { prompt: fill.prompt }))!;
      assert.notEqual(again.path, first.path);
      assert.equal(path.dirname(again.path), out);
      assert.deepEqual(fs.readFileSync(again.path), fs.readFileSync(first.path), 'the re-run with the PNG\'s parameters made another image');
    } finally {
      await restoreOut();
      await restore();
    }
  });
});
