/** Typed access to the `diffusionStudio.*` settings and the folders they name. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { GENERATION_DEFAULTS as DEFAULTS } from '../protocol';
import type { GuidanceSettings } from '../../webview-ui/shared/messages';
import { MODEL_OWN_SAMPLER } from './samplerSettings';

export const SECTION = 'diffusionStudio';

export interface Settings extends GuidanceSettings {
  modelsFolders: string[];
  outputFolder: string;
  /** Generate Image from Selection: the image's folder, relative to the document ('.' = beside it). */
  selectionImageFolder: string;
  distillFolder: string;
  imageCount: number;
  editEtas: number[];
  /** Vary Image: the strength its input box starts with. */
  varyStrength: number;
  device: 'auto' | 'cuda' | 'cpu';
  nodePath: string;
  sidecarUrl: string;
  /** A CA file (PEM) and a pinned certificate fingerprint for a remote sidecar's TLS (remoteTrust.ts). */
  sidecarCa: string;
  sidecarCertificateSha256: string;
  recentPrompts: number;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const get = <T>(key: string, fallback: T): T => c.get<T>(key) ?? fallback;
  return {
    // The fallbacks are package.json's defaults (VS Code returns those first): null/'auto' = the model's own.
    model: get('model', DEFAULTS.model),
    guidanceScale: get<number | null>('guidanceScale', null),
    steps: get<number | null>('steps', null),
    scheduler: get('scheduler', MODEL_OWN_SAMPLER),
    seedMode: get<'random' | 'fixed'>('seedMode', 'random'),
    seed: get('seed', 42),
    negativePrompt: get('negativePrompt', ''),
    size: get('size', 0),
    modelsFolders: get<string[]>('modelsFolders', []),
    outputFolder: get('outputFolder', 'diffusion-studio'),
    selectionImageFolder: get('selectionImageFolder', '.'),
    distillFolder: get('distillFolder', 'diffusion-studio/models'),
    imageCount: get('imageCount', DEFAULTS.count),
    editEtas: get<number[]>('editEtas', [0, 0.4, 0.7, 1, 1.2]),
    varyStrength: get('varyStrength', DEFAULTS.strength),
    device: get<'auto' | 'cuda' | 'cpu'>('device', 'auto'),
    nodePath: get('sidecar.nodePath', ''),
    sidecarUrl: get('sidecar.url', ''),
    sidecarCa: get('sidecar.ca', ''),
    sidecarCertificateSha256: get('sidecar.certificateSha256', ''),
    recentPrompts: get('recentPrompts', 10),
  };
}

/** Writes one guidance setting where the user keeps it (workspace if set there, else user settings). */
export async function writeSetting(key: keyof GuidanceSettings, value: unknown): Promise<void> {
  const c = vscode.workspace.getConfiguration(SECTION);
  const where = c.inspect(key);
  const target =
    where?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : where?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  await c.update(key, value, target);
}

/** The folder relative settings are resolved against: the first workspace folder, else the home folder. */
export function baseFolder(): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.env.HOME ?? process.cwd();
}

export function resolveFolder(p: string): string {
  const expanded = p.startsWith('~/') ? path.join(process.env.HOME ?? '', p.slice(2)) : p;
  return path.resolve(baseFolder(), expanded);
}

export const outputFolder = (s: Settings = readSettings()) => resolveFolder(s.outputFolder);
export const distillFolder = (s: Settings = readSettings()) => resolveFolder(s.distillFolder);
