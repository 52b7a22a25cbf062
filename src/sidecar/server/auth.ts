/**
 * Who may talk to the sidecar. The rules: listen on loopback unless TLS protects a wider bind; every
 * WebSocket upgrade carries the per-launch secret as `Authorization: Bearer <secret>`; a request with an
 * Origin header comes from a browser page (a web page may open ws://127.0.0.1 connections) and is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::ffff:127.0.0.1';
}

/** Throws when a bind would expose the sidecar without TLS. */
export function checkBind(host: string, tls: boolean): void {
  if (!isLoopback(host) && !tls) {
    throw new Error(
      `refusing to listen on ${host} without TLS: the sidecar serves only the loopback address unless ` +
        `--tls-cert and --tls-key are given`,
    );
  }
}

export type UpgradeVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** Checks an upgrade request: browser Origin refused (403), missing or wrong secret refused (401). */
export function verifyUpgrade(req: IncomingMessage, secret: string): UpgradeVerdict {
  if (req.headers.origin !== undefined) {
    return { ok: false, status: 403, reason: 'browser origins are not allowed' };
  }
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth) : null;
  if (!m) return { ok: false, status: 401, reason: 'missing Authorization: Bearer <secret>' };
  if (!sameSecret(m[1], secret)) return { ok: false, status: 401, reason: 'wrong secret' };
  return { ok: true };
}

/** Constant-time comparison (hashes first, so the lengths match and leak nothing). */
function sameSecret(given: string, secret: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(given), h(secret));
}
