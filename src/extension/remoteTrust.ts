/**
 * What the extension trusts in a remote sidecar's TLS certificate, from two settings: a CA file
 * (`diffusionStudio.sidecar.ca`, PEM: the sidecar's self-signed certificate, or the CA that signed it) and
 * a pinned fingerprint (`diffusionStudio.sidecar.certificateSha256`). Read before connecting, so a wrong
 * setting is reported by its name, not as a TLS failure. No VS Code here: the unit tests run it.
 */
import { readFileSync } from 'node:fs';
import { normaliseFingerprint } from '../protocol';

export interface RemoteTrustSettings {
  /** Path of a PEM file; '' for none. */
  ca: string;
  /** Hex SHA-256 of the certificate, colons optional; '' for none. */
  certificateSha256: string;
}

/** The SidecarClient options for them; throws an Error naming the setting when one is unusable. */
export function remoteTrust(s: RemoteTrustSettings): { ca?: string; certificateSha256?: string } {
  const trust: { ca?: string; certificateSha256?: string } = {};
  if (s.ca) trust.ca = readCa(s.ca);
  if (s.certificateSha256) {
    try {
      trust.certificateSha256 = normaliseFingerprint(s.certificateSha256);
    } catch (err) {
      throw new Error(`diffusionStudio.sidecar.certificateSha256: ${(err as Error).message}`, { cause: err });
    }
  }
  return trust;
}

function readCa(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`diffusionStudio.sidecar.ca: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`diffusionStudio.sidecar.ca: ${path} holds no PEM certificate`);
  return text;
}
