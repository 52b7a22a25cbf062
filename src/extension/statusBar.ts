/** The status-bar item: sidecar state, execution provider, and progress of the current job. */
import * as vscode from 'vscode';
import type { JobService } from './jobs';
import type { SidecarManager } from './sidecar';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('diffusionStudio.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly sidecar: SidecarManager,
    private readonly jobs: JobService,
  ) {
    this.item.name = 'Diffusion Studio';
    this.subscriptions.push(
      sidecar.onDidChangeState(() => this.render()),
      jobs.onDidUpdateJob(() => this.render()),
    );
    this.render();
    this.item.show();
  }

  private render(): void {
    const job = this.jobs.running[0];
    const caps = this.sidecar.capabilities;
    const ep = caps ? caps.executionProvider.toUpperCase() : '';
    if (job) {
      const pct = job.total > 0 ? ` ${job.step}/${job.total}` : '';
      this.item.text = `$(sync~spin) Diffusion ${job.stage}${pct}`;
      this.item.tooltip = `${job.title}\nClick to cancel`;
      this.item.command = 'diffusionStudio.cancelJob';
      return;
    }
    this.item.command = 'diffusionStudio.showRuntimeInfo';
    switch (this.sidecar.state) {
      case 'ready':
        this.item.text = `$(sparkle) Diffusion ${ep}`;
        this.item.tooltip = caps ? `Sidecar ready: ${caps.executionProvider} on ${caps.deviceName}` : 'Sidecar ready';
        return;
      case 'starting':
        this.item.text = '$(loading~spin) Diffusion';
        this.item.tooltip = 'Starting the sidecar';
        return;
      case 'crashed':
        this.item.text = '$(warning) Diffusion';
        this.item.tooltip = 'The sidecar stopped; restarting';
        return;
      case 'stopped':
        this.item.text = '$(sparkle) Diffusion';
        this.item.tooltip = 'Sidecar not started (it starts on first use)';
        return;
    }
  }

  dispose(): void {
    this.item.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}
