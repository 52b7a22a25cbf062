/** A history entry as the results panel shows it, and the actions on one (results panel and Search Image History). */
import * as vscode from 'vscode';
import type { HistoryAction, HistoryView } from '../../../webview-ui/shared/messages';
import { copyParameters, openImage, revealImage } from '../imageActions';
import type { HistoryService } from './historyService';
import type { HistoryEntry } from './scan';

export function toHistoryView(e: HistoryEntry, webview: vscode.Webview): HistoryView {
  const f = e.fields;
  const summary = [f.Seed && `seed ${f.Seed}`, f.Steps && `${f.Steps} steps`, f.Sampler, f.Model, f['Denoising strength'] && `strength ${f['Denoising strength']}`]
    .filter(Boolean)
    .join(' · ');
  return {
    path: e.path,
    name: vscode.workspace.asRelativePath(e.path),
    src: webview.asWebviewUri(vscode.Uri.file(e.path)).toString(),
    kind: e.kind,
    prompt: e.prompt,
    mtimeMs: e.mtimeMs,
    summary,
  };
}

export async function historyAction(action: HistoryAction, entry: HistoryEntry, history: HistoryService): Promise<void> {
  switch (action) {
    case 'open':
      return openImage(entry.path);
    case 'reveal':
      return revealImage(entry.path);
    case 'copy':
      return copyParameters(entry.text);
    case 'rerun':
      await history.rerun(entry);
      return;
    case 'delete':
      await history.delete(entry);
      return;
  }
}
