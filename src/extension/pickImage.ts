/** Which image a command acts on: the menu's resource, else the image open in the editor, else ask for a file. */
import * as vscode from 'vscode';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp'];

export async function pickImage(uri: unknown, openLabel: string, extensions = IMAGE_EXTENSIONS, current?: vscode.Uri): Promise<vscode.Uri | undefined> {
  if (uri instanceof vscode.Uri) return uri;
  if (current) return current;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && extensions.some((e) => input.uri.path.toLowerCase().endsWith(`.${e}`))) return input.uri;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: extensions }, openLabel });
  return picked?.[0];
}
