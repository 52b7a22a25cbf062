/// <reference types="mocha" />
/** Cancel Job, Show Runtime Info, and a remote sidecar named by the settings. */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { launchSidecar, type Capabilities } from '../../src/protocol';
import { api, setSetting, waitFor } from './helpers';

const cliCommand = () => [process.execPath, path.join(vscode.extensions.getExtension('diffusion-studio.diffusion-studio')!.extensionPath, 'dist', 'cli.js')];

describe('jobs and runtime', () => {
  it('Cancel Job stops a running generation within moments', async function () {
    const { jobs, sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    // Enough work that the job is still running when the cancel arrives: the tiny test model does
    // 1000 steps of one image in about a second, faster than a loaded extension host sees it run.
    const running = jobs.generate({ prompt: 'a long job', steps: 1000, count: 64 }).then(
      () => 'finished',
      (e: Error & { code?: string }) => e.code ?? e.message,
    );
    await waitFor('the job to run', () => jobs.running.find((j) => j.state === 'running'), 30_000);
    const t0 = Date.now();
    assert.equal(await vscode.commands.executeCommand('diffusionStudio.cancelJob'), true);
    assert.equal(await running, 'cancelled');
    assert.ok(Date.now() - t0 < 5000, `the cancel took ${Date.now() - t0} ms`);
    assert.equal(jobs.running.length, 0);
  });

  it('Show Runtime Info reports the execution provider and device', async () => {
    const caps = await vscode.commands.executeCommand<Capabilities>('diffusionStudio.showRuntimeInfo');
    assert.ok(caps, 'no runtime info');
    assert.ok(['cpu', 'cuda'].includes(caps.executionProvider));
    assert.ok(caps.deviceName.length > 0);
    assert.match(caps.ortVersion, /^\d+\.\d+/);
  });

  it('connects to the remote sidecar named by diffusionStudio.sidecar.url, moving the old secret setting into SecretStorage', async () => {
    const { sidecar } = await api();
    const remote = await launchSidecar({ command: cliCommand(), env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    const user = vscode.ConfigurationTarget.Global; // machine-scoped settings live in user settings only
    const restore = [await setSetting('sidecar.url', remote.banner.url, user), await setSetting('sidecar.secret', remote.secret, user)];
    try {
      await sidecar.restart();
      assert.equal(sidecar.capabilities?.pid, remote.process.pid, 'the extension did not use the remote sidecar');
      assert.equal(sidecar.pid, undefined, 'the extension started a local sidecar as well');
      const left = vscode.workspace.getConfiguration('diffusionStudio').inspect('sidecar.secret');
      assert.equal(left?.globalValue, undefined, 'the secret is still in settings.json');
      await sidecar.restart();
      assert.equal(sidecar.capabilities?.pid, remote.process.pid, 'the moved secret is read from SecretStorage');
    } finally {
      for (const r of restore) await r();
      await sidecar.restart();
      remote.client.close();
      remote.process.kill();
    }
    assert.notEqual(sidecar.capabilities?.pid, remote.process.pid);
  });

  it('reaches a self-signed TLS sidecar through diffusionStudio.sidecar.certificateSha256, and is refused without it', async () => {
    const { sidecar } = await api();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-inhost-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    // Named for another host than the one dialled: only the pin can make it trusted.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=gpu-host'], { stdio: 'ignore' });
    const sha256 = new X509Certificate(fs.readFileSync(cert)).fingerprint256;
    const remote = await launchSidecar({
      command: cliCommand(), args: ['--tls-cert', cert, '--tls-key', key], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      client: { certificateSha256: sha256 },
    });
    const user = vscode.ConfigurationTarget.Global;
    const restore = [await setSetting('sidecar.url', remote.banner.url, user), await setSetting('sidecar.secret', remote.secret, user)];
    try {
      assert.match(remote.banner.url, /^wss:/);
      await assert.rejects(sidecar.restart(), /self-signed|certificate/);
      restore.push(await setSetting('sidecar.certificateSha256', sha256.replace(/:/g, '').toLowerCase(), user));
      await sidecar.restart();
      assert.equal(sidecar.capabilities?.pid, remote.process.pid);
    } finally {
      for (const r of restore.reverse()) await r();
      await sidecar.restart();
      remote.client.close();
      remote.process.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
