// What the extension passes to a remote sidecar's TLS, read from its settings (no VS Code needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteTrust } from '../../../src/extension/remoteTrust';

const PIN = 'ab'.repeat(32);

test('the CA file is read and the pin normalised; neither set means the system CAs alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-trust-'));
  try {
    const ca = join(dir, 'cert.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    assert.deepEqual(remoteTrust({ ca: '', certificateSha256: '' }), {});
    assert.match(String(remoteTrust({ ca, certificateSha256: '' }).ca), /BEGIN CERTIFICATE/);
    assert.equal(remoteTrust({ ca: '', certificateSha256: PIN }).certificateSha256, PIN.toUpperCase().match(/../g)!.join(':'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad CA file or pin is refused naming the setting and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-trust-'));
  try {
    const notPem = join(dir, 'key.txt');
    writeFileSync(notPem, 'hello');
    assert.throws(() => remoteTrust({ ca: join(dir, 'missing.pem'), certificateSha256: '' }), /^Error: diffusionStudio\.sidecar\.ca: cannot read .*missing\.pem \(ENOENT\)$/);
    assert.throws(() => remoteTrust({ ca: notPem, certificateSha256: '' }), /diffusionStudio\.sidecar\.ca: .*key\.txt holds no PEM certificate/);
    assert.throws(() => remoteTrust({ ca: dir, certificateSha256: '' }), /diffusionStudio\.sidecar\.ca: cannot read .* \(EISDIR\)/);
    assert.throws(() => remoteTrust({ ca: '', certificateSha256: 'AB:CD' }), /diffusionStudio\.sidecar\.certificateSha256: "AB:CD" is not a SHA-256 fingerprint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
