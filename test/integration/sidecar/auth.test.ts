import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SidecarClient } from '../../../src/protocol';
import { CLI, ROOT, connect, runServe, startSidecar, stopSidecar } from './helpers';

/** Attempts an upgrade with the given headers; resolves with the HTTP status (101 = accepted). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(-1));
  });
}

test('connections without the secret, with a wrong one, or from a browser origin are refused', async () => {
  const s = await startSidecar();
  try {
    const url = s.banner.url;
    assert.equal(await upgradeStatus(url, {}), 401, 'no secret');
    assert.equal(await upgradeStatus(url, { Authorization: 'Bearer wrong-secret-wrong-secret' }), 401, 'wrong secret');
    assert.equal(await upgradeStatus(url, { Authorization: `Basic ${s.secret}` }), 401, 'wrong scheme');
    assert.equal(await upgradeStatus(url, { Authorization: `Bearer ${s.secret}x` }), 401, 'secret plus a character');
    const fromBrowser = { Authorization: `Bearer ${s.secret}`, Origin: 'https://evil.example' };
    assert.equal(await upgradeStatus(url, fromBrowser), 403, 'browser origin');
    assert.equal(await upgradeStatus(url, { Authorization: `Bearer ${s.secret}` }), 101, 'right secret');
    await assert.rejects(SidecarClient.connect({ url, secret: 'nope-nope-nope-nope' }), /401/);
    // The sidecar still serves the legitimate client after all that.
    const caps = await s.client.hello();
    assert.equal(caps.protocolVersion, 1);
  } finally {
    await stopSidecar(s);
  }
});

test('hello reports the execution provider, device, ORT version and models', async () => {
  const s = await startSidecar();
  try {
    const caps = await s.client.hello({ name: 'test', version: '1' });
    assert.equal(caps.executionProvider, 'cpu');
    assert.match(caps.deviceName, /^CPU: /);
    assert.match(caps.ortVersion, /^\d+\.\d+\.\d+/);
    assert.equal(caps.pid, s.banner.pid);
    assert.ok(Array.isArray(caps.models));
    assert.equal(typeof caps.jobKinds.generate, 'boolean');
    assert.equal(s.banner.executionProvider, 'cpu');
    assert.equal(s.banner.secret, undefined, 'a secret handed over by the parent is not echoed');
  } finally {
    await stopSidecar(s);
  }
});

test('a non-loopback bind without TLS is refused before anything listens', async () => {
  const r = await runServe(['--host', '0.0.0.0', '--port', '0']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without TLS/);
  const half = await runServe(['--host', '0.0.0.0', '--tls-cert', '/nonexistent.pem']);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
});

test('with TLS a wider bind serves wss and still demands the secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const secret = 'a-secret-from-a-file-0123456789';
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const child = spawn(CLI[0], [...CLI.slice(1), 'serve', '--device', 'cpu', '--host', '0.0.0.0', '--tls-cert', cert,
    '--tls-key', key, '--secret-file', secretFile, '--no-watch-parent'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const banner = JSON.parse(line);
    assert.equal(banner.tls, true);
    assert.match(banner.url, /^wss:\/\/0\.0\.0\.0:\d+$/);
    assert.equal(banner.secret, undefined);
    const url = `wss://127.0.0.1:${banner.port}`;
    const ca = readFileSync(cert);
    await assert.rejects(SidecarClient.connect({ url, secret: 'wrong-secret-wrong-secret', ca }), /401/);
    await assert.rejects(SidecarClient.connect({ url, secret }), /self-signed|certificate/, 'an untrusted certificate is refused by the client');
    const c = await SidecarClient.connect({ url, secret, ca });
    assert.equal((await c.hello()).protocolVersion, 1);
    c.close();
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shutdown answers, then the sidecar exits and clients see the close', async () => {
  const s = await startSidecar();
  const other = await connect(s);
  const exited = new Promise<number | null>((r) => s.process.once('exit', (code) => r(code)));
  const reply = await s.client.shutdown();
  assert.equal(reply.cancelledJobs, 0);
  const why = await other.closed;
  assert.equal(why.code, 'connection_lost');
  assert.equal(await exited, 0);
});

test('the sidecar exits when its parent goes away (stdin closes)', async () => {
  const s = await startSidecar();
  const exited = new Promise<number | null>((r) => s.process.once('exit', (code) => r(code)));
  s.process.stdin!.end();
  assert.equal(await exited, 0);
  s.client.close();
});

test('the sidecar exits when its parent process is killed (parent pid watch)', async () => {
  // An intermediate parent starts the sidecar without --watch-stdin and is then killed with SIGKILL.
  const parentCode = `
    const { spawn } = require('node:child_process');
    spawn(${JSON.stringify(CLI[0])}, ${JSON.stringify([...CLI.slice(1), 'serve', '--device', 'cpu'])},
      { cwd: ${JSON.stringify(ROOT)}, stdio: ['ignore', 'inherit', 'ignore'] });
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', parentCode], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [line] = (await once(createInterface({ input: parent.stdout! }), 'line')) as [string];
  const pid = JSON.parse(line).pid as number;
  // Exited means gone or a zombie: in a container nobody may reap the orphan.
  const alive = () => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  assert.equal(alive(), true);
  const t0 = performance.now();
  parent.kill('SIGKILL');
  while (alive() && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
  const ms = performance.now() - t0;
  if (alive()) process.kill(pid, 'SIGKILL');
  console.log(`# parent killed: the sidecar exited after ${ms.toFixed(0)} ms`);
  assert.ok(ms < 2000, `the sidecar outlived its parent by ${ms.toFixed(0)} ms`);
});
