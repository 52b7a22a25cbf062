/**
 * The guidance side panel (a webview view in the Diffusion Studio activity-bar container). It shows the
 * `diffusionStudio.*` guidance settings, writes each change back to the settings (so they persist and
 * the next generation uses them), and has a prompt box with a Generate button.
 */
import * as vscode from 'vscode';
import { findSampler, GENERATION_DEFAULTS } from '../protocol';
import type { GuidanceSettings, ToWebview } from '../../webview-ui/shared/messages';
import { parseWebviewMessage } from '../../webview-ui/shared/validate';
import { readSettings, SECTION, writeSetting } from './config';
import type { JobService } from './jobs';
import type { ModelCatalog } from './models';
import { SCHEDULER_CHOICES } from './samplerSettings';
import { webviewHtml } from './webviewHtml';

export class SettingsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'diffusionStudio.settings';
  private view?: vscode.WebviewView;
  private ready = false;
  /** Whether a job was running when the panel was last sent its state. */
  private busy = false;
  /** A prompt to put into the prompt box once the panel is there (Re-run with these parameters). */
  private pendingPrompt?: string;
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
      // The panel shows only whether something runs (its Generate button): not every step.
      jobs.onDidUpdateJob(() => {
        const busy = jobs.running.length > 0;
        if (busy !== this.busy) void this.refresh();
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')] };
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'settings', 'Guidance');
    view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), undefined, this.subscriptions);
    view.onDidDispose(
      () => {
        this.view = undefined;
        this.ready = false;
      },
      undefined,
      this.subscriptions,
    );
  }

  /**
   * Fills the panel: writes the settings (where the user keeps them, as a change in the panel would),
   * puts the prompt into the prompt box and shows the panel with the focus in it, so Ctrl+Enter generates.
   */
  async fill(prompt: string, settings: Partial<GuidanceSettings>): Promise<void> {
    for (const [key, value] of Object.entries(settings) as Array<[keyof GuidanceSettings, unknown]>) await writeSetting(key, value);
    this.pendingPrompt = prompt;
    await vscode.commands.executeCommand(`${SettingsViewProvider.viewId}.focus`);
    this.flushPrompt();
  }

  private flushPrompt(): void {
    if (!this.view || !this.ready || this.pendingPrompt === undefined) return;
    const m: ToWebview = { type: 'prompt', prompt: this.pendingPrompt };
    this.pendingPrompt = undefined;
    void this.view.webview.postMessage(m);
  }

  private async refresh(): Promise<void> {
    this.busy = this.jobs.running.length > 0;
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
      busy: this.busy,
    };
    void this.view.webview.postMessage(m);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    // A value the panel let through (typed by hand) is the user's to fix: say why it was not saved.
    if ('error' in parsed) return void vscode.window.showWarningMessage(`Diffusion Studio: not saved: ${parsed.error}`);
    const m = parsed.message;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        await this.refresh();
        this.flushPrompt();
        return;
      case 'update': {
        // null: back to the default ("the model's own"); removing the value does that.
        await writeSetting(m.key, m.value ?? undefined);
        return;
      }
      case 'generate':
        await this.generate(m.prompt);
        return;
      default:
        return; // the other panels' messages
    }
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}
