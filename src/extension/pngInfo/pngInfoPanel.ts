/**
 * The PNG info webview: one panel showing a PNG and the A1111 parameters stored in it (this extension's
 * or another tool's), with "Re-run with these parameters" (fills the side panel) and "Copy parameters".
 * It can see only the bundled webview assets and the shown image's folder.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PngInfoView, ToWebview } from '../../../webview-ui/shared/messages';
import { parseWebviewMessage } from '../../../webview-ui/shared/validate';
import { webviewHtml } from '../webviewHtml';
import { readPngInfo, type PngInfo } from './pngInfo';

export class PngInfoPanel implements vscode.Disposable {
  static readonly viewType = 'diffusionStudio.pngInfo';
  private panel?: vscode.WebviewPanel;
  private ready = false;
  private info?: PngInfo;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly rerun: (file: vscode.Uri) => Thenable<unknown>,
  ) {}

  /** The PNG shown in the panel while it is the active editor (palette commands act on it). */
  get activeFile(): vscode.Uri | undefined {
    return this.panel?.active && this.info ? vscode.Uri.file(this.info.file) : undefined;
  }

  /** Reads the parameters of `file` (an Error naming the problem when it has none) and shows them. */
  show(file: vscode.Uri): PngInfo {
    const info = readPngInfo(file.fsPath);
    this.info = info;
    const roots = [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.file(path.dirname(info.file))];
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(PngInfoPanel.viewType, 'PNG Info', vscode.ViewColumn.Active, { enableScripts: true, localResourceRoots: roots });
      this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
      this.panel.webview.html = webviewHtml(this.panel.webview, this.extensionUri, 'pngInfo', 'PNG Info');
      this.panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), undefined, this.subscriptions);
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.ready = false;
      });
    } else {
      this.panel.webview.options = { ...this.panel.webview.options, localResourceRoots: roots };
      this.panel.reveal();
    }
    this.panel.title = `PNG Info: ${path.basename(info.file)}`;
    this.post();
    return info;
  }

  private post(): void {
    if (!this.panel || !this.ready || !this.info) return;
    const i = this.info;
    const view: PngInfoView = {
      path: i.file,
      name: vscode.workspace.asRelativePath(i.file),
      src: this.panel.webview.asWebviewUri(vscode.Uri.file(i.file)).toString(),
      prompt: i.prompt,
      negativePrompt: i.negativePrompt,
      fields: Object.entries(i.fields),
      text: i.text,
    };
    const m: ToWebview = { type: 'pngInfo', info: view };
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    if ('error' in parsed) return void vscode.window.showWarningMessage(`Diffusion Studio: the PNG info panel sent a message that was refused: ${parsed.error}`);
    const m = parsed.message;
    if (m.type === 'ready') {
      this.ready = true;
      this.post();
    } else if (m.type === 'rerunParams' && this.info) {
      await this.rerun(vscode.Uri.file(this.info.file));
    } else if (m.type === 'copyInfo' && this.info) {
      await vscode.env.clipboard.writeText(this.info.text);
      void vscode.window.setStatusBarMessage('Diffusion Studio: parameters copied', 3000);
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}
