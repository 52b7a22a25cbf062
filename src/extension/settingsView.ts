/**
 * The guidance side panel (a webview view in the Diffusion Studio activity-bar container). It shows the
 * `diffusionStudio.*` guidance settings, writes each change back to the settings (so they persist and
 * the next generation uses them), and has a prompt box with a Generate button.
 */
import * as vscode from 'vscode';
import { findSampler, GENERATION_DEFAULTS } from '../protocol';
import { isWebviewMessage, type GuidanceSettings, type ToWebview } from '../../webview-ui/shared/messages';
import { readSettings, SECTION, writeSetting } from './config';
import type { JobService } from './jobs';
import type { ModelCatalog } from './models';
import { SCHEDULER_CHOICES } from './samplerSettings';
import { webviewHtml } from './webviewHtml';

const NUMBER_KEYS = new Set<keyof GuidanceSettings>(['guidanceScale', 'steps', 'seed', 'size']);

export class SettingsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'diffusionStudio.settings';
  private view?: vscode.WebviewView;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly models: ModelCatalog,
    private readonly jobs: JobService,
    private readonly generate: (prompt: string) => Thenable<unknown>,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(SECTION) && void this.refresh()),
      models.onDidChange(() => void this.refresh()),
      jobs.onDidUpdateJob(() => void this.refresh()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')] };
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'settings', 'Guidance');
    view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), undefined, this.subscriptions);
    view.onDidDispose(() => (this.view = undefined), undefined, this.subscriptions);
  }

  private async refresh(): Promise<void> {
    if (!this.view) return;
    const s = readSettings();
    const settings: GuidanceSettings = {
      model: s.model,
      guidanceScale: s.guidanceScale,
      steps: s.steps,
      // An earlier spelling in settings.json (dpm++2m, Euler a) selects its row of the dropdown.
      scheduler: findSampler(s.scheduler)?.id ?? s.scheduler,
      seedMode: s.seedMode,
      seed: s.seed,
      negativePrompt: s.negativePrompt,
      size: s.size,
    };
    const models = await this.models.list();
    const m: ToWebview = {
      type: 'settings',
      settings,
      models,
      schedulers: [...SCHEDULER_CHOICES],
      defaults: { guidanceScale: GENERATION_DEFAULTS.guidanceScale, steps: GENERATION_DEFAULTS.steps },
      busy: this.jobs.running.length > 0,
    };
    void this.view.webview.postMessage(m);
  }

  private async onMessage(m: unknown): Promise<void> {
    if (!isWebviewMessage(m)) return;
    switch (m.type) {
      case 'ready':
        await this.refresh();
        return;
      case 'update': {
        // null: back to the default ("the model's own"); removing the value does that.
        if (m.value === null) return writeSetting(m.key, undefined);
        const value = NUMBER_KEYS.has(m.key) ? Number(m.value) : m.value;
        if (typeof value === 'number' && !Number.isFinite(value)) return;
        await writeSetting(m.key, value);
        return;
      }
      case 'generate':
        await this.generate(m.prompt);
        return;
    }
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}
