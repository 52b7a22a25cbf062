// `npm run test:e2e`: installs what is missing (scripts/e2e/install.sh), builds, starts code-server,
// runs the in-host mocha suite inside the real extension host, then the Playwright UI suite, stops
// every process it started, prints a pass/fail summary and exits non-zero on any failure.
//   DS_E2E_ONLY=inhost|ui   run one suite      DS_E2E_KEEP=1   keep .e2e/run (workspace, logs)
//   DS_E2E_NO_BUILD=1       test the dist/ already built
//   DS_E2E_DOC_IMAGES=1     copy the screenshots of each surface into docs/images/ (for the README)
//   DS_E2E_MODEL=emoji-base generate with a model of models/ instead of the tiny test fixture
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from './codeServer.mjs';
import { runInHost } from './runInHost.mjs';
import { prepareWorkspace } from './workspace.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const runDir = path.join(repo, '.e2e', 'run');
const artifacts = path.join(repo, '.e2e', 'artifacts');
const only = process.env.DS_E2E_ONLY;
const results = [];
/** The in-host suite's failure report (mocha's "N failing" section), repeated in the summary. */
const inHostFailures = [];
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const say = (m) => console.log(`[e2e ${elapsed()}] ${m}`);

function step(name, cmd, args) {
  say(name);
  const r = spawnSync(cmd, args, { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status})`);
}

// Workbench console noise (gallery lookups with no network, auth providers ...) stays in the log file.
const NOISE = /^\s+at |getaddrinfo|open-vsx|Creating a socket|connection token|AccountPolicyGate|AgentHost|authentication provider|Service Worker|grace time|builtin extensions|\[lifecycle\]/;

let server;
let browser;
async function cleanup() {
  await browser?.close().catch(() => undefined);
  browser = undefined;
  await server?.stop();
  server = undefined;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => void cleanup().finally(() => process.exit(130)));
}

async function main() {
  step('install (skipped when present)', 'bash', [path.join(repo, 'scripts', 'e2e', 'install.sh')]);
  // DS_E2E_NO_BUILD=1 reuses dist/ (e.g. while another part of the tree is mid-edit).
  if (!process.env.DS_E2E_NO_BUILD) step('build', process.execPath, [path.join(repo, 'scripts', 'build.mjs')]);
  step('build in-host tests', process.execPath, [path.join(repo, 'scripts', 'e2e', 'buildTests.mjs')]);
  rmSync(runDir, { recursive: true, force: true });
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const workspace = prepareWorkspace(repo, path.join(runDir, 'workspace'));
  server = await startCodeServer({ root: runDir, workspace, logFile: path.join(artifacts, 'code-server.log') });
  say(`code-server on ${server.url} (process group ${server.pgid})`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

  if (!only || only === 'inhost') {
    const logFile = path.join(artifacts, 'inhost.log');
    say('in-host suite (mocha in the extension host)');
    const started = Date.now();
    const code = await runInHost({
      browser,
      server,
      workspace,
      extensionPath: repo,
      testsPath: path.join(repo, 'out', 'test', 'vscode', 'index.js'),
      log: (line) => {
        appendFileSync(logFile, `${line}\n`);
        if (!NOISE.test(line)) console.log(`  ${line}`);
        // Mocha lists its failures after "N failing"; kept for the summary, which CI shows last.
        if (/^\s*\d+ failing/.test(line) || inHostFailures.length > 0) inHostFailures.push(line);
      },
    }).catch((err) => {
      console.log(`  ${err.message}`);
      return 1;
    });
    results.push({ suite: 'in-host (mocha)', ok: code === 0, seconds: (Date.now() - started) / 1000 });
  }
  // The UI suite opens its own window; the in-host window is gone. A fresh workspace keeps them apart.
  if (!only || only === 'ui') {
    const uiWorkspace = prepareWorkspace(repo, path.join(runDir, 'workspace-ui'));
    say('UI suite (Playwright)');
    const started = Date.now();
    const env = {
      serverUrl: server.url,
      port: server.port,
      workspace: uiWorkspace,
      extensionPath: repo,
      artifacts,
      chromium: CHROMIUM,
      chromiumArgs: CHROMIUM_ARGS,
    };
    // Node's runner orders the files it is given by name: one run per group keeps ui.test.ts first.
    let code = 0;
    for (const files of uiFileGroups()) {
      const c = await new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
          cwd: repo,
          stdio: 'inherit',
          env: { ...process.env, DS_E2E_ENV: JSON.stringify(env) },
        });
        child.on('exit', (x) => resolve(x ?? 1));
      });
      if (c !== 0) code = c;
    }
    results.push({ suite: 'UI (Playwright)', ok: code === 0, seconds: (Date.now() - started) / 1000 });
  }
}

/**
 * The UI test files, one window each, in two runs: ui.test.ts (the core routes, whose first test counts
 * the PNGs of a fresh output folder) first, then one file per feature. DS_E2E_UI_FILE=<file> runs one.
 */
function uiFileGroups() {
  if (process.env.DS_E2E_UI_FILE) return [[process.env.DS_E2E_UI_FILE]];
  const dir = path.join(repo, 'test', 'e2e');
  const features = readdirSync(dir).filter((f) => f.endsWith('.test.ts') && f !== 'ui.test.ts').sort();
  return [['ui.test.ts'], features].map((g) => g.map((f) => path.join('test', 'e2e', f)));
}

/** The screenshots worth showing, under the names docs/EXTENSION.md and the README use. */
const DOC_IMAGES = {
  'results-generate': 'extension-results.png',
  'side-panel': 'extension-side-panel.png',
  'results-edit': 'extension-edit.png',
  'distill-task': 'extension-distill-task.png',
  'selection-link': 'extension-selection.png',
  'png-info-rerun': 'extension-png-info.png',
  'vary-image': 'extension-vary.png',
  history: 'extension-history.png',
  xyplot: 'extension-xyplot.png',
  queue: 'extension-queue.png',
  'distill-progress': 'extension-distill-progress.png',
};
function copyDocImages() {
  const dir = path.join(repo, 'docs', 'images');
  mkdirSync(dir, { recursive: true });
  for (const [from, to] of Object.entries(DOC_IMAGES)) {
    const src = path.join(artifacts, `${from}.png`);
    if (existsSync(src)) copyFileSync(src, path.join(dir, to));
  }
  say(`screenshots copied to ${path.relative(repo, dir)}/`);
}

let failed = false;
try {
  await main();
  if (process.env.DS_E2E_DOC_IMAGES) copyDocImages();
} catch (err) {
  console.error(`[e2e] ${err.stack ?? err}`);
  failed = true;
} finally {
  await cleanup();
  if (!process.env.DS_E2E_KEEP) rmSync(runDir, { recursive: true, force: true });
}
console.log('\n== end-to-end summary ==');
for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.suite}  (${r.seconds.toFixed(1)} s)`);
if (inHostFailures.length > 0) console.log(`in-host failures:\n${inHostFailures.slice(0, 60).join('\n')}`);
if (failed) console.log('FAIL  setup (see above)');
console.log(`total ${elapsed()}; screenshots and logs in ${path.relative(repo, artifacts)}/`);
writeFileSync(path.join(artifacts, 'summary.json'), JSON.stringify({ results, failed, seconds: (Date.now() - t0) / 1000 }, null, 2));
process.exit(failed || results.some((r) => !r.ok) || results.length === 0 ? 1 : 0);
