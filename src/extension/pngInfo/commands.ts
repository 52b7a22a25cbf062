/**
 * Show PNG Info and Re-run with These Parameters (palette, explorer and editor-title menus). Each
 * returns what it produced, for tests; a PNG without parameters is an error naming the file.
 */
import * as vscode from 'vscode';
import type { ModelCatalog } from '../models';
import { pickImage } from '../pickImage';
import type { SettingsViewProvider } from '../settingsView';
import { fillFromInfo, readPngInfo, type Fill, type PngInfo } from './pngInfo';
import type { PngInfoPanel } from './pngInfoPanel';

export interface PngInfoDeps {
  panel: PngInfoPanel;
  models: ModelCatalog;
  settingsView: SettingsViewProvider;
}

export function registerPngInfoCommands(d: PngInfoDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('diffusionStudio.showPngInfo', (uri?: unknown) => showPngInfo(d, uri).then(undefined, report)),
    vscode.commands.registerCommand('diffusionStudio.rerunWithParameters', (uri?: unknown) => rerunWithParameters(d, uri).then(undefined, report)),
  ];
}

function report(err: unknown): undefined {
  void vscode.window.showErrorMessage(`Diffusion Studio: ${(err as Error).message}`);
  return undefined;
}

async function showPngInfo(d: PngInfoDeps, uri: unknown): Promise<PngInfo | undefined> {
  const file = await pickImage(uri, 'Show PNG Info', ['png']);
  return file && d.panel.show(file);
}

/** Fills the side panel with a PNG's parameters; says which values it had to leave out and why. */
export async function rerunWithParameters(d: PngInfoDeps, uri: unknown): Promise<Fill | undefined> {
  const file = await pickImage(uri, 'Re-run with These Parameters', ['png'], d.panel.activeFile);
  if (!file) return undefined;
  const info = readPngInfo(file.fsPath);
  const fill = fillFromInfo(info, await d.models.list());
  await d.settingsView.fill(fill.prompt, fill.settings);
  if (fill.skipped.length) {
    void vscode.window.showWarningMessage(`Diffusion Studio: filled the side panel from ${vscode.workspace.asRelativePath(file)} except: ${fill.skipped.join('; ')}.`);
  }
  return fill;
}
