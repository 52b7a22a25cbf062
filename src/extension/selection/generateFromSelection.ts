/**
 * Diffusion Studio: Generate Image from Selection (editor context menu and palette). The selected text
 * is the prompt; one image is written next to the document (diffusionStudio.selectionImageFolder) and
 * a Markdown image link replaces the selection, the prompt as its alt text, as one undoable edit.
 */
import * as vscode from 'vscode';
import { readSettings } from '../config';
import type { JobService, ResultItem } from '../jobs';
import { markdownImageLink, selectionImageFolder, selectionPrompt } from './imageLink';

export interface SelectionImage {
  item: ResultItem;
  /** The Markdown image link made for it. */
  link: string;
  /** False when the selected text had changed meanwhile: the document was left alone, the link copied. */
  inserted: boolean;
}

export async function generateFromSelection(jobs: JobService, showResults: (besides?: vscode.ViewColumn) => void): Promise<SelectionImage> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) throw new Error('Generate Image from Selection: open a text file and select the text that describes the image.');
  const doc = editor.document;
  if (doc.isUntitled || doc.uri.scheme !== 'file') {
    throw new Error('Generate Image from Selection: save the document first: the image is saved next to it and linked by a relative path.');
  }
  const range = editor.selection;
  const selected = doc.getText(range);
  const prompt = selectionPrompt(selected);
  if ('error' in prompt) throw new Error(`Generate Image from Selection: ${prompt.error}.`);
  const folder = selectionImageFolder(doc.uri.fsPath, readSettings().selectionImageFolder);
  showResults(editor.viewColumn);
  const [item] = await jobs.generate({ prompt: prompt.prompt, count: 1, outputDir: folder });
  if (!item) throw new Error('Generate Image from Selection: the sidecar returned no image.');
  const link = markdownImageLink(doc.uri.fsPath, item.path, prompt.prompt);
  // An edit made against an older version of the document is refused: look again and retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    const target = whereNow(doc, range, selected);
    if (!target) break;
    const version = doc.version;
    if (await replace(doc, target, link)) return { item, link, inserted: true };
    await changedSince(doc, version);
  }
  await vscode.env.clipboard.writeText(link);
  void vscode.window.showWarningMessage(
    `Diffusion Studio: the selected text changed while the image was made, so the document was left as it is; the link to ${vscode.workspace.asRelativePath(item.path)} is on the clipboard.`,
  );
  return { item, link, inserted: false };
}

/**
 * Where the selected text is now: the same range if it still holds it, else its occurrence nearest to
 * where it was (the user may have typed above it while the image was made), else nowhere.
 */
function whereNow(doc: vscode.TextDocument, range: vscode.Range, selected: string): vscode.Range | undefined {
  if (doc.getText(range) === selected) return range;
  const text = doc.getText();
  const was = doc.offsetAt(range.start);
  let best = -1;
  for (let at = text.indexOf(selected); at !== -1; at = text.indexOf(selected, at + 1)) {
    if (best === -1 || Math.abs(at - was) < Math.abs(best - was)) best = at;
  }
  return best === -1 ? undefined : new vscode.Range(doc.positionAt(best), doc.positionAt(best + selected.length));
}

/** Resolves once this host has seen a version of `doc` newer than `version` (or after a moment). */
function changedSince(doc: vscode.TextDocument, version: number): Promise<void> {
  if (doc.version > version) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      sub.dispose();
      clearTimeout(timer);
      resolve();
    };
    const sub = vscode.workspace.onDidChangeTextDocument((e) => e.document === doc && done());
    const timer = setTimeout(done, 500);
  });
}

/** One edit with undo stops around it, so a single Ctrl+Z gives the selected text back. */
async function replace(doc: vscode.TextDocument, range: vscode.Range, text: string): Promise<boolean> {
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  if (editor) {
    try {
      return await editor.edit((b) => b.replace(range, text), { undoStopBefore: true, undoStopAfter: true });
    } catch {
      // The editor was closed or hidden meanwhile: edit the document itself.
    }
  }
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, range, text);
  return vscode.workspace.applyEdit(edit);
}
