/// <reference types="mocha" />
/** The workspace history: read from the PNGs themselves, so images made on the command line are in it. */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, setSetting, waitFor, workspaceRoot } from './helpers';

describe('History', () => {
  const cliOut = () => path.join(workspaceRoot(), 'e2e-out', 'history-cli');

  it('lists an image made on the command line, finds it by prompt, and a re-run from it gives the same image', async function () {
    const { history, sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    const model = path.join(ext, 'test', 'fixtures', 'tiny-sd');
    execFileSync(process.execPath, [path.join(ext, 'dist', 'cli.js'), 'generate', 'a paper boat on a pond', '--model', model, '--steps', '3', '--seed', '8', '--out', cliOut(), '--device', 'cpu'], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: 'ignore',
    });
    const [made] = fs.readdirSync(cliOut()).map((f) => path.join(cliOut(), f));
    assert.ok(made?.endsWith('.png'), 'the command line wrote no PNG');
    // The file watcher picks it up; no reload, no command.
    const entry = await waitFor('the CLI image in the history', async () => (await history.list('paper BOAT')).find((e) => e.path === made), 30_000);
    assert.equal(entry.prompt, 'a paper boat on a pond');
    assert.equal(entry.kind, 'generate');
    assert.deepEqual(await history.list('paper boat submarine'), []);
    const restore = await setSetting('outputFolder', 'e2e-out/history-rerun');
    try {
      const [again] = await history.rerun(entry);
      assert.equal(path.dirname(again.path), path.join(workspaceRoot(), 'e2e-out', 'history-rerun'));
      assert.deepEqual(fs.readFileSync(again.path), fs.readFileSync(made), 'the extension and the command line made different images from the same parameters');
    } finally {
      await restore();
    }
  });
});
