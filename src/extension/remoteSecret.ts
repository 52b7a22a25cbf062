/**
 * The remote sidecar's secret lives in VS Code's SecretStorage (the OS keychain), never in
 * settings.json, which is plain text, often synced and sometimes committed. A secret still in the old
 * setting `diffusionStudio.sidecar.secret` is read once, moved into SecretStorage, and removed from
 * every settings file that held it, with a notice saying so.
 */
import * as vscode from 'vscode';
import { SECTION } from './config';

const SECRET_KEY = 'diffusionStudio.sidecar.secret';
const OLD_SETTING = 'sidecar.secret';

/** The stored secret, after moving one left in settings.json; '' when there is none. */
export async function remoteSecret(secrets: vscode.SecretStorage): Promise<string> {
  await migrateSecretSetting(secrets);
  return (await secrets.get(SECRET_KEY)) ?? '';
}

let migrating: Promise<boolean> | undefined;

/**
 * Moves a secret from settings.json into SecretStorage; true when there was one to move. Called at
 * activation and before each remote connection; concurrent calls share one move (one notice).
 */
export function migrateSecretSetting(secrets: vscode.SecretStorage): Promise<boolean> {
  migrating ??= moveSecret(secrets).finally(() => (migrating = undefined));
  return migrating;
}

async function moveSecret(secrets: vscode.SecretStorage): Promise<boolean> {
  const c = vscode.workspace.getConfiguration(SECTION);
  const seen = c.inspect<string>(OLD_SETTING);
  const places = [
    { value: seen?.workspaceFolderValue, target: vscode.ConfigurationTarget.WorkspaceFolder },
    { value: seen?.workspaceValue, target: vscode.ConfigurationTarget.Workspace },
    { value: seen?.globalValue, target: vscode.ConfigurationTarget.Global },
  ].filter((p) => typeof p.value === 'string' && p.value !== '');
  if (places.length === 0) return false;
  // The most specific one is the one that was in use.
  await secrets.store(SECRET_KEY, places[0].value as string);
  for (const p of places) await c.update(OLD_SETTING, undefined, p.target);
  void vscode.window.showInformationMessage(
    'Diffusion Studio: the remote sidecar secret was moved from settings.json into VS Code\'s secret storage and removed from the settings. ' +
      'Change it with "Diffusion Studio: Set Remote Sidecar Secret".',
  );
  return true;
}

/** The command "Diffusion Studio: Set Remote Sidecar Secret": an empty answer removes the secret. */
export async function setRemoteSecret(secrets: vscode.SecretStorage): Promise<boolean | undefined> {
  const value = await vscode.window.showInputBox({
    title: 'Diffusion Studio: Set Remote Sidecar Secret',
    prompt: 'The secret the remote sidecar was started with (its --secret-file). Kept in VS Code\'s secret storage. Empty: remove it.',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v !== '' && v.trim().length < 16 ? 'the sidecar accepts secrets of at least 16 characters' : undefined),
  });
  if (value === undefined) return undefined;
  if (value.trim() === '') await secrets.delete(SECRET_KEY);
  else await secrets.store(SECRET_KEY, value.trim());
  return value.trim() !== '';
}
