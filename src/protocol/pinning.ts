/**
 * Certificate pinning for a remote sidecar with a self-signed certificate: the client trusts exactly
 * the certificate whose SHA-256 fingerprint it was given (`openssl x509 -noout -fingerprint -sha256`).
 *
 * A self-signed certificate fails the ordinary chain check before Node would call
 * `checkServerIdentity`, so the pin cannot be checked inside the WebSocket's own handshake, and
 * skipping verification there would send the secret (in the upgrade request) before any check. Hence
 * two steps: a bare TLS handshake that sends nothing reads the certificate and compares its
 * fingerprint; then the WebSocket connects trusting that certificate alone as its CA (plus the system
 * CAs, for a pinned certificate a public CA signed), and `checkServerIdentity` accepts exactly the pinned
 * certificate, so a server that changed its certificate in between is refused too.
 */
import { X509Certificate } from 'node:crypto';
import { connect, rootCertificates, type PeerCertificate } from 'node:tls';
import { SidecarError } from './errors';

/** What the WebSocket's TLS needs to trust the pinned certificate (and nothing else by name). */
export interface PinnedTls {
  ca: string[];
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** `AB:CD:...` (Node's `fingerprint256`), from 64 hex digits with or without colons or a `sha256=` prefix. */
export function normaliseFingerprint(pin: string): string {
  const hex = pin.trim().replace(/^sha-?256( fingerprint)?[=:]\s*/i, '').replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new SidecarError('connection_lost', `"${pin}" is not a SHA-256 fingerprint (64 hex digits, colons optional)`);
  return hex.match(/../g)!.join(':');
}

/** Reads the server's certificate, compares it with the pin, and returns the options that trust only it. */
export async function pinnedTls(url: string, pin: string, timeoutMs: number): Promise<PinnedTls> {
  const want = normaliseFingerprint(pin);
  const target = new URL(url);
  if (target.protocol !== 'wss:') throw new SidecarError('connection_lost', `a pinned certificate is only for wss: URLs, not ${url}`);
  const cert = await peerCertificate(target, timeoutMs);
  if (cert.fingerprint256 !== want) {
    throw new SidecarError('connection_lost', `the sidecar at ${url} presented the certificate ${cert.fingerprint256}, not the pinned ${want}; nothing was sent to it`);
  }
  const pem = new X509Certificate(cert.raw).toString();
  return {
    ca: [...rootCertificates, pem],
    checkServerIdentity: (_host, c) => (c.fingerprint256 === want ? undefined : new Error(`the certificate ${c.fingerprint256} is not the pinned ${want}`)),
  };
}

/** A TLS handshake without verification and without sending a byte of application data. */
function peerCertificate(target: URL, timeoutMs: number): Promise<PeerCertificate> {
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 443);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: false });
    const fail = (why: string) => {
      socket.destroy();
      reject(new SidecarError('connection_lost', `cannot read the certificate of the sidecar at ${target.href}: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no TLS handshake within ${timeoutMs} ms`));
    socket.once('error', (err) => fail(err.message));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      if (!cert?.raw) reject(new SidecarError('connection_lost', `the sidecar at ${target.href} presented no certificate`));
      else resolve(cert);
    });
  });
}
