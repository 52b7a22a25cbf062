/** Shared helpers of the in-host tests: the extension's API, settings, waiting. */
import * as vscode from 'vscode';
import type { DiffusionStudioApi } from '../../src/extension/extension';

export const EXTENSION_ID = 'diffusion-studio.diffusion-studio';

export async function api(): Promise<DiffusionStudioApi> {
  const ext = vscode.extensions.getExtension<DiffusionStudioApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

/**
 * Sets diffusionStudio.<key> in the workspace settings (user settings for machine-scoped keys);
 * returns a function that restores it.
 */
export async function setSetting(key: string, value: unknown, target = vscode.ConfigurationTarget.Workspace): Promise<() => Thenable<void>> {
  const c = vscode.workspace.getConfiguration('diffusionStudio');
  const inspected = c.inspect(key);
  const before = target === vscode.ConfigurationTarget.Global ? inspected?.globalValue : inspected?.workspaceValue;
  await c.update(key, value, target);
  return () => vscode.workspace.getConfiguration('diffusionStudio').update(key, before, target);
}

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, seen?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen ? `; saw ${seen()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function workspaceRoot(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('the in-host tests need a workspace folder');
  return f.uri.fsPath;
}
