// Runs the in-host mocha suite inside code-server's real extension host: the workbench is opened with
// extensionTestsPath in its payload; the test output arrives through codeAutomationLog and the exit code
// through codeAutomationExit (the hooks VS Code's smoke-test driver uses).
import { format } from 'node:util';
import { workbenchUrl } from './codeServer.mjs';

export async function runInHost({ browser, server, workspace, extensionPath, testsPath, timeoutMs = 900_000, log = console.log }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    // Mocha's reporter logs printf-style ('%s (%dms)', title, ms): format as Node's console would.
    log(Array.isArray(args) ? format(...args) : String(args));
  });
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  await page.goto(workbenchUrl(server, { workspace, extensionPath, testsPath }));
  const timer = new Promise((r) => setTimeout(() => r('timeout'), timeoutMs));
  const code = await Promise.race([exited, timer]);
  await context.close();
  if (code === 'timeout') throw new Error(`the in-host suite did not finish within ${timeoutMs / 1000} s`);
  return code;
}
