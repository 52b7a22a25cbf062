/// <reference types="mocha" />
/** Vary Image: image-to-image from a file of the workspace, with a strength. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseParameters, readTextChunks } from '../../src/protocol';
import { api, setSetting, workspaceRoot } from './helpers';

type Items = Array<{ path: string; request: { initImage?: string; strength?: number } }>;

describe('Vary Image', () => {
  const out = () => path.join(workspaceRoot(), 'e2e-out', 'vary');
  const cat = () => path.join(workspaceRoot(), 'images', 'cat.png');
  let restore: Array<() => Thenable<void>> = [];
  before(async function () {
    const { sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    restore = [await setSetting('seedMode', 'fixed'), await setSetting('seed', 3), await setSetting('outputFolder', 'e2e-out/vary')];
  });
  after(async () => {
    for (const r of restore) await r();
  });

  it('writes a new image made from the file, records the strength in its PNG, and leaves the file alone', async () => {
    const input = fs.readFileSync(cat());
    const varied = await vscode.commands.executeCommand<Items>('diffusionStudio.varyImage', vscode.Uri.file(cat()), { prompt: 'a cat face in the snow', strength: 0.5 });
    assert.equal(varied?.length, 1, 'no image');
    const [item] = varied;
    assert.equal(path.dirname(item.path), out());
    assert.equal(item.request.initImage, cat());
    const fields = parseParameters(readTextChunks(fs.readFileSync(item.path)).parameters).fields;
    assert.equal(fields['Denoising strength'], '0.5');
    assert.deepEqual(fs.readFileSync(cat()), input, 'the input image was modified');
    // The same prompt and seed without the picture: another image, so the picture was used.
    const [plain] = (await vscode.commands.executeCommand<Items>('diffusionStudio.generate', { prompt: 'a cat face in the snow' }))!;
    assert.notDeepEqual(fs.readFileSync(plain.path), fs.readFileSync(item.path), 'the variation ignored the image');
    // Re-run from the gallery: the same picture, strength and seed, so the same image under a new name.
    const { jobs } = await api();
    const [again] = await jobs.rerun(jobs.items.find((i) => i.path === item.path)!);
    assert.equal((again.request as { initImage?: string }).initImage, cat());
    assert.notEqual(again.path, item.path);
    assert.deepEqual(fs.readFileSync(again.path), fs.readFileSync(item.path), 'the re-run of a variation made another image');
  });

  it('refuses a strength outside (0, 1] and writes nothing', async () => {
    const before = fs.readdirSync(out()).length;
    for (const strength of [1.5, 0, 'half']) {
      assert.equal(await vscode.commands.executeCommand('diffusionStudio.varyImage', vscode.Uri.file(cat()), { prompt: 'x', strength }), undefined);
    }
    assert.equal(fs.readdirSync(out()).length, before);
  });
});
