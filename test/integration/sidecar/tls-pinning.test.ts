// A remote sidecar with a self-signed certificate (made here with openssl): a client trusts it through
// its CA file or its pinned SHA-256 fingerprint, and is refused without either, or with another pin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { SidecarClient } from '../../../src/protocol';
import { CLI, ROOT } from './helpers';

interface Cert { key: string; cert: string; sha256: string }

function selfSigned(dir: string, name: string, subject: string, san: string): Cert {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', subject, '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
  return { key, cert, sha256: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

async function serveTls(dir: string, cert: Cert, secret: string): Promise<{ child: ChildProcess; port: number }> {
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, secret, { mode: 0o600 });
  const child = spawn(CLI[0], [...CLI.slice(1), 'serve', '--device', 'cpu', '--host', '0.0.0.0', '--tls-cert', cert.cert,
    '--tls-key', cert.key, '--secret-file', secretFile, '--no-watch-parent'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

const secret = 'a-remote-secret-0123456789abcdef';

test('a self-signed remote sidecar: trusted by its CA file or its pinned fingerprint, refused without', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-pin-'));
  // Named for another host than the one dialled (as a GPU box reached by its IP often is): the CA route
  // checks the name, the pin does not need to (the pin names the very certificate).
  const cert = selfSigned(dir, 'gpu', '/CN=gpu-host', 'DNS:gpu-host,IP:127.0.0.1');
  const { child, port } = await serveTls(dir, cert, secret);
  const url = `wss://127.0.0.1:${port}`;
  try {
    await assert.rejects(SidecarClient.connect({ url, secret }), /self-signed|certificate/, 'no CA, no pin: refused');
    const byCa = await SidecarClient.connect({ url, secret, ca: readFileSync(cert.cert) });
    assert.equal((await byCa.hello()).protocolVersion, 1);
    byCa.close();
    const byPin = await SidecarClient.connect({ url: `wss://localhost:${port}`, secret, certificateSha256: cert.sha256 });
    assert.equal((await byPin.hello()).protocolVersion, 1, 'the pin works whatever name the host is dialled by');
    byPin.close();
    const plainHex = cert.sha256.replace(/:/g, '').toLowerCase();
    const byHexPin = await SidecarClient.connect({ url, secret, certificateSha256: plainHex });
    byHexPin.close();
    const other = selfSigned(dir, 'other', '/CN=gpu-host', 'IP:127.0.0.1');
    await assert.rejects(SidecarClient.connect({ url, secret, certificateSha256: other.sha256 }),
      new RegExp(`presented the certificate ${cert.sha256.slice(0, 20)}.*not the pinned ${other.sha256.slice(0, 20)}`));
    await assert.rejects(SidecarClient.connect({ url, secret, certificateSha256: 'AB:CD' }), /not a SHA-256 fingerprint/);
    await assert.rejects(SidecarClient.connect({ url: `ws://127.0.0.1:${port}`, secret, certificateSha256: cert.sha256 }), /only for wss:/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a server whose certificate does not match the pin never receives the secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-pin-'));
  const impostor = selfSigned(dir, 'impostor', '/CN=127.0.0.1', 'IP:127.0.0.1');
  const pinned = selfSigned(dir, 'pinned', '/CN=127.0.0.1', 'IP:127.0.0.1');
  const seen: string[] = [];
  const server = createServer({ key: readFileSync(impostor.key), cert: readFileSync(impostor.cert) }, (req, res) => res.end());
  server.on('upgrade', (req, socket) => {
    seen.push(String(req.headers.authorization));
    socket.destroy();
  });
  server.on('request', (req) => seen.push(String(req.headers.authorization)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    await assert.rejects(SidecarClient.connect({ url: `wss://127.0.0.1:${port}`, secret, certificateSha256: pinned.sha256 }), /not the pinned/);
    assert.deepEqual(seen, [], 'no HTTP request (and so no Authorization header) reached the impostor');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
