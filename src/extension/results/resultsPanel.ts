/**
 * The results webview: live progress of running jobs (with the sidecar's step previews), a gallery
 * of this session's images with their actions, and the workspace's history (history.ts: every PNG with
 * parameters, searchable by prompt). One panel per window; it can see only the bundled webview assets,
 * the output folder(s) and the workspace folders.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FromWebview, GalleryItem, HistoryView, ToWebview } from '../../../webview-ui/shared/messages';
import { parseWebviewMessage } from '../../../webview-ui/shared/validate';
import { outputFolder } from '../config';
import type { JobService, ResultItem } from '../jobs';
import { webviewHtml } from '../webviewHtml';
import type { HistoryService } from '../history/historyService';
import { historyAction, toHistoryView } from '../history/actions';
import { copyParameters, openImage, revealImage } from '../imageActions';

export class ResultsPanel implements vscode.Disposable {
  static readonly viewType = 'diffusionStudio.results';
  private panel?: vscode.WebviewPanel;
  private readonly subscriptions: vscode.Disposable[] = [];
  private ready = false;
  private query = '';

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly jobs: JobService,
    private readonly actions: { edit(item: ResultItem): Thenable<unknown>; rerun(item: ResultItem): Thenable<unknown> },
    private readonly history: HistoryService,
  ) {
    this.subscriptions.push(
      history.onDidChange(() => void this.postHistory()),
      jobs.onDidUpdateJob((job) => this.post({ type: 'job', job })),
      jobs.onDidAddItems((items) => {
        this.allowFolders(items.map((i) => path.dirname(i.path)));
        this.post({ type: 'items', items: items.map((i) => this.toGallery(i)) });
      }),
    );
  }

  /** Opens (or reveals) the panel without taking focus from the editor unless asked; `besides`: a column it must not cover. */
  show(preserveFocus = true, besides?: vscode.ViewColumn): void {
    if (this.panel) {
      // Never on top of the editor the user works in (Generate Image from Selection edits it afterwards).
      const column = besides !== undefined && this.panel.viewColumn === besides ? vscode.ViewColumn.Beside : undefined;
      this.panel.reveal(column, preserveFocus);
      return;
    }
    const roots = [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.file(outputFolder())];
    // The history shows the workspace's PNGs.
    for (const f of vscode.workspace.workspaceFolders ?? []) roots.push(f.uri);
    // Images of an edit may sit next to their input, outside the output folder: allow those folders too.
    for (const item of this.jobs.items) roots.push(vscode.Uri.file(path.dirname(item.path)));
    const panel = vscode.window.createWebviewPanel(
      ResultsPanel.viewType,
      'Diffusion Results',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: dedupe(roots) },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'results', 'Diffusion Results');
    panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), undefined, this.subscriptions);
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
    this.panel = panel;
  }

  /** Widens localResourceRoots to folders results were written to (the output folder may have changed). */
  private allowFolders(folders: string[]): void {
    if (!this.panel) return;
    const roots = [...(this.panel.webview.options.localResourceRoots ?? [])];
    const missing = folders.filter((f) => !roots.some((r) => r.fsPath === f));
    if (missing.length === 0) return;
    this.panel.webview.options = { ...this.panel.webview.options, localResourceRoots: dedupe([...roots, ...missing.map((f) => vscode.Uri.file(f))]) };
  }

  get visible(): boolean {
    return this.panel !== undefined;
  }

  private post(m: ToWebview): void {
    if (this.panel && this.ready) void this.panel.webview.postMessage(m);
  }

  /** The history entries matching the current search, as the panel shows them. */
  private async postHistory(): Promise<void> {
    if (!this.panel || !this.ready) return;
    const all = await this.history.list();
    const entries = await this.history.list(this.query);
    const webview = this.panel.webview;
    const shown: HistoryView[] = entries.slice(0, 200).map((e) => toHistoryView(e, webview));
    this.post({ type: 'history', entries: shown, query: this.query, total: all.length });
  }

  private toGallery({ request: _r, ...i }: ResultItem): GalleryItem {
    const src = this.panel ? this.panel.webview.asWebviewUri(vscode.Uri.file(i.path)).toString() : '';
    return { ...i, src };
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    if ('error' in parsed) return void vscode.window.showWarningMessage(`Diffusion Studio: the results panel sent a message that was refused: ${parsed.error}`);
    const m = parsed.message;
    if (m.type === 'ready') {
      this.ready = true;
      this.post({ type: 'init', items: this.jobs.items.map((i) => this.toGallery(i)), jobs: [...this.jobs.jobs.values()] });
      await this.postHistory();
      return;
    }
    if (m.type === 'historySearch') {
      this.query = m.query;
      await this.postHistory();
      return;
    }
    if (m.type === 'historyAction') {
      const entry = this.history.find(m.path);
      if (!entry) return void vscode.window.showWarningMessage(`Diffusion Studio: ${m.path} is not in the history (deleted or moved?).`);
      await historyAction(m.action, entry, this.history).then(undefined, (e: Error) => vscode.window.showErrorMessage(`Diffusion Studio: ${e.message}`));
      return;
    }
    if (m.type === 'cancel') {
      await this.jobs.cancel(m.jobId);
      return;
    }
    if (!('id' in m)) return; // the other panels' messages
    const item = this.jobs.find(m.id);
    if (item) await this.itemAction(m, item).then(undefined, (e: Error) => vscode.window.showErrorMessage(`Diffusion Studio: ${e.message}`));
  }

  private async itemAction(m: Extract<FromWebview, { id: string }>, item: ResultItem): Promise<void> {
    switch (m.type) {
      case 'open':
        return openImage(item.path);
      case 'reveal':
        return revealImage(item.path);
      case 'copyParams':
        return copyParameters(formatParams(item.params));
      case 'rerun':
        await this.actions.rerun(item);
        return;
      case 'edit':
        await this.actions.edit(item);
        return;
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}

/** "key: value" lines, the prompt first, as a user pastes them into a note or an issue. */
export function formatParams(params: Record<string, unknown>): string {
  const { prompt, negativePrompt, ...rest } = params;
  const lines = [`prompt: ${String(prompt ?? '')}`];
  if (negativePrompt) lines.push(`negative prompt: ${String(negativePrompt)}`);
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'previewEvery' || k === 'outputDir' || v === undefined) continue;
    lines.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return lines.join('\n');
}

function dedupe(uris: vscode.Uri[]): vscode.Uri[] {
  const seen = new Set<string>();
  return uris.filter((u) => !seen.has(u.toString()) && seen.add(u.toString()));
}
