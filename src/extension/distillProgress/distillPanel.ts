/**
 * The distillation progress panel: a webview beside the task's terminal showing the loss curve of each
 * phase and the sample row of each finished one (progressState.ts builds what it shows; the webview,
 * webview-ui/distill, draws it). One panel, for the latest distillation task; it opens without taking
 * the focus from the terminal, and Show Distillation Progress brings it back after it was closed.
 */
import * as vscode from 'vscode';
import type { ProgressEvent } from '../../protocol';
import type { ToWebview } from '../../../webview-ui/shared/messages';
import { parseWebviewMessage } from '../../../webview-ui/shared/validate';
import { webviewHtml } from '../webviewHtml';
import { DistillProgressState, type DistillStatus } from './progressState';

/** Loss events arrive every training step; the webview is sent the state at most this often. */
const POST_MS = 250;

export class DistillProgressPanel implements vscode.Disposable {
  static readonly viewType = 'diffusionStudio.distillProgress';
  private panel?: vscode.WebviewPanel;
  private ready = false;
  private current?: DistillProgressState;
  private timer?: NodeJS.Timeout;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri) {}

  /** What the panel shows (or would show when closed): for tests and the API. */
  get state(): DistillProgressState | undefined {
    return this.current;
  }

  /**
   * A distillation task starts: a fresh state, shown from now on, and the panel opened beside the
   * terminal. The task keeps its state and passes it back, so a task still running after a newer one
   * started updates its own state, not the one on show.
   */
  start(title: string): DistillProgressState {
    this.current = new DistillProgressState(title);
    this.show(true);
    return this.current;
  }

  progress(state: DistillProgressState, e: ProgressEvent): void {
    if (state.apply(e) && state === this.current) this.postSoon();
  }

  end(state: DistillProgressState, status: Exclude<DistillStatus, 'running'>, line: string): void {
    state.end(status, line);
    if (state === this.current) this.post();
  }

  /** Opens (or reveals) the panel; `beside` keeps the focus where it is (the task's terminal). */
  show(beside = false): void {
    if (this.panel) {
      this.panel.reveal(undefined, beside);
      return this.post();
    }
    const options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')] };
    const column = beside ? { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true } : vscode.ViewColumn.Active;
    this.panel = vscode.window.createWebviewPanel(DistillProgressPanel.viewType, 'Distillation Progress', column, options);
    this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    this.panel.webview.html = webviewHtml(this.panel.webview, this.extensionUri, 'distill', 'Distillation Progress');
    this.panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), undefined, this.subscriptions);
    this.panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
  }

  private onMessage(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if ('error' in parsed) return void vscode.window.showWarningMessage(`Diffusion Studio: the distillation panel sent a message that was refused: ${parsed.error}`);
    if (parsed.message.type === 'ready') {
      this.ready = true;
      this.post();
    }
  }

  private postSoon(): void {
    this.timer ??= setTimeout(() => this.post(), POST_MS);
  }

  private post(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.panel || !this.ready || !this.current) return;
    const m: ToWebview = { type: 'distill', view: this.current.view };
    void this.panel.webview.postMessage(m);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.panel?.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}
