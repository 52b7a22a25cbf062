/// <reference types="mocha" />
/** The sidecar's lifecycle: started on first need, restarted after being killed, stopped on request. */
import * as assert from 'node:assert/strict';
import type { SidecarManager } from '../../src/extension/sidecar';
import { api, isAlive, waitFor } from './helpers';

/** Resolves with the reason of the sidecar's next automatic restart. */
function nextRestart(sidecar: SidecarManager): Promise<{ reason: string }> {
  return new Promise((resolve) => {
    const d = sidecar.onDidRestart((e) => {
      d.dispose();
      resolve(e);
    });
  });
}

describe('sidecar lifecycle', () => {
  it('starts on first need and reports its capabilities', async () => {
    const { sidecar } = await api();
    const client = await sidecar.ensure();
    assert.equal(sidecar.state, 'ready');
    assert.ok(sidecar.pid && isAlive(sidecar.pid), 'no live sidecar process');
    assert.ok(['cpu', 'cuda'].includes(sidecar.capabilities!.executionProvider));
    const { rttMs } = await client.ping();
    assert.ok(rttMs < 1000, `ping took ${rttMs} ms`);
  });

  it('is restarted after it is killed, and answers again', async () => {
    const { sidecar } = await api();
    await sidecar.ensure();
    const oldPid = sidecar.pid!;
    const restarted = nextRestart(sidecar);
    process.kill(oldPid, 'SIGKILL');
    const { reason } = await restarted;
    assert.match(reason, /clos|exit|heartbeat/i);
    assert.equal(sidecar.state, 'ready');
    const newPid = sidecar.pid!;
    assert.notEqual(newPid, oldPid);
    assert.ok(!isAlive(oldPid), 'the killed sidecar is still alive');
    const client = await sidecar.ensure();
    await client.ping();
  });

  it('replaces a sidecar that stops answering (SIGSTOP), and kills the old process', async () => {
    const { sidecar } = await api();
    await sidecar.ensure();
    const oldPid = sidecar.pid!;
    const restarted = nextRestart(sidecar);
    process.kill(oldPid, 'SIGSTOP');
    try {
      const { reason } = await restarted;
      assert.match(reason, /heartbeat/i);
      await waitFor('the stopped sidecar to be killed', () => !isAlive(oldPid) || undefined, 5000);
      const newPid = sidecar.pid!;
      assert.ok(newPid && newPid !== oldPid && isAlive(newPid), 'no new sidecar process');
      await (await sidecar.ensure()).ping();
    } finally {
      if (isAlive(oldPid)) process.kill(oldPid, 'SIGKILL');
    }
  });

  it('stops its process when asked, and starts again on the next need', async () => {
    const { sidecar } = await api();
    await sidecar.ensure();
    const pid = sidecar.pid!;
    await sidecar.stop();
    assert.equal(sidecar.state, 'stopped');
    await waitFor('the sidecar process to exit', () => !isAlive(pid) || undefined, 5000);
    await sidecar.ensure();
    assert.ok(sidecar.pid && sidecar.pid !== pid && isAlive(sidecar.pid));
  });
});
