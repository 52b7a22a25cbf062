/**
 * Diffusion Studio: Search Image History: the results panel's History as a quick pick, for the
 * keyboard: type words of a prompt, pick an image, pick what to do with it.
 */
import * as vscode from 'vscode';
import { HISTORY_ACTIONS, type HistoryAction } from '../../../webview-ui/shared/messages';
import { historyAction } from './actions';
import type { HistoryService } from './historyService';

const ACTION_LABELS: Record<HistoryAction, string> = {
  open: 'Open',
  reveal: 'Reveal in the Explorer',
  copy: 'Copy the parameters',
  rerun: 'Re-run with these parameters',
  delete: 'Move to the trash…',
};

export async function searchHistoryCommand(history: HistoryService): Promise<HistoryAction | undefined> {
  const entries = await history.list();
  const picked = await vscode.window.showQuickPick(
    entries.map((e) => ({
      label: e.prompt || '(no prompt)',
      description: vscode.workspace.asRelativePath(e.path),
      detail: `${new Date(e.mtimeMs).toLocaleString()} · seed ${e.fields.Seed ?? '?'} · ${e.fields.Steps ?? '?'} steps · ${e.fields.Sampler ?? ''}`,
      entry: e,
    })),
    { title: 'Image history of the workspace', placeHolder: entries.length ? 'Search past images by prompt' : 'No PNG with generation parameters in the workspace yet', matchOnDescription: true },
  );
  if (!picked) return undefined;
  const action = await vscode.window.showQuickPick(
    HISTORY_ACTIONS.map((a) => ({ label: ACTION_LABELS[a], action: a })),
    { title: picked.entry.prompt || vscode.workspace.asRelativePath(picked.entry.path), placeHolder: 'What to do with this image' },
  );
  if (!action) return undefined;
  await historyAction(action.action, picked.entry, history);
  return action.action;
}
