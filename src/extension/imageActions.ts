/** What a user does with a picture on disk from the results panel and the History: open, reveal, copy its parameters. */
import * as vscode from 'vscode';

export async function openImage(path: string): Promise<void> {
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path), vscode.ViewColumn.One);
}

export async function revealImage(path: string): Promise<void> {
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path));
}

export async function copyParameters(text: string): Promise<void> {
  await vscode.env.clipboard.writeText(text);
  void vscode.window.setStatusBarMessage('Diffusion Studio: parameters copied', 3000);
}
