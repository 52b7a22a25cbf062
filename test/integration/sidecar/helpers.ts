/**
 * Test helpers: start a real sidecar process from source (through tsx, as a user's `serve` would run
 * from the bundle) and connect real clients to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchSidecar, SidecarClient, type LaunchedSidecar } from '../../../src/protocol';

export const ROOT = join(__dirname, '..', '..', '..');
export const MAIN = join(ROOT, 'src', 'sidecar', 'cli', 'main.ts');
export const FIXTURE = join(ROOT, 'test', 'fixtures', 'tiny-sd');
/** How a test runs the command line from source. */
export const CLI = [process.execPath, '--import', 'tsx', MAIN];

export async function startSidecar(args: string[] = [], onStderr?: (l: string) => void): Promise<LaunchedSidecar> {
  return launchSidecar({ command: CLI, args: ['--device', 'cpu', ...args], cwd: ROOT, onStderr });
}

export async function stopSidecar(s: LaunchedSidecar): Promise<void> {
  s.client.close();
  if (s.process.exitCode !== null || s.process.signalCode !== null) return;
  const exited = new Promise((r) => s.process.once('exit', r));
  s.process.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (s.process.exitCode === null) s.process.kill('SIGKILL');
}

export function connect(s: LaunchedSidecar): Promise<SidecarClient> {
  return SidecarClient.connect({ url: s.banner.url, secret: s.secret });
}

/** Runs `serve` with arguments and collects what it printed until it exits (or `ms` pass). */
export function runServe(args: string[], ms = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(CLI[0], [...CLI.slice(1), 'serve', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resident set size of a process, in bytes, from /proc. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb * 1024;
}
