/** The checks every webview of the extension must pass: a strict CSP, a nonce on each of our scripts. */
import * as assert from 'node:assert/strict';
import type { Frame } from 'playwright-core';

export async function assertStrictCsp(frame: Frame, what: string): Promise<void> {
  const csp = await frame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.ok(csp, `no CSP in the ${what} webview`);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!.*vscode-cdn)/, csp);
  const nonce = /'nonce-([^']+)'/.exec(csp)![1];
  const scripts = await frame.locator('script').evaluateAll((els) => els.map((e) => ({ nonce: (e as HTMLScriptElement).nonce, src: (e as HTMLScriptElement).src, text: e.textContent?.slice(0, 80) })));
  // VS Code itself injects an inline acquireVsCodeApi script ahead of the page's CSP; ours are files.
  const ours = scripts.filter((x) => x.src);
  assert.ok(ours.length > 0 && ours.every((x) => x.nonce === nonce && /\/dist\/webview\/\w+\.js$/.test(x.src)), `a script without the nonce in the ${what} webview: ${JSON.stringify(ours)}`);
}
