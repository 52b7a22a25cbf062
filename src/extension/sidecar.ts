/**
 * SidecarManager: owns the connection to the sidecar. It starts a local sidecar on first need (or
 * connects to the remote one named in the settings), writes its log to the output channel, restarts
 * it after a crash with a notification, and stops it with the extension.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { launchSidecar, SidecarClient, type Capabilities, type SidecarError, type WarmupParams } from '../protocol';
import { distillFolder, readSettings, resolveFolder, type Settings } from './config';
import { remoteSecret } from './remoteSecret';
import { remoteTrust } from './remoteTrust';
import { requestSettings } from './samplerSettings';

export type SidecarState = 'stopped' | 'starting' | 'ready' | 'crashed';

/** At most this many automatic restarts within RESTART_WINDOW_MS; after that the user restarts it. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

export class SidecarManager implements vscode.Disposable {
  private client?: SidecarClient;
  private child?: ChildProcess;
  private starting?: Promise<SidecarClient>;
  private stopping = false;
  private disposed = false;
  private restarts: number[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<SidecarState>();
  /** Fires on every state change (status bar, tests). */
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly restartEmitter = new vscode.EventEmitter<{ reason: string }>();
  /** Fires when a crashed sidecar has been started again. */
  readonly onDidRestart = this.restartEmitter.event;
  state: SidecarState = 'stopped';
  capabilities?: Capabilities;

  constructor(
    private readonly extensionPath: string,
    private readonly log: vscode.OutputChannel,
    private readonly secrets: vscode.SecretStorage,
  ) {}

  /** Process id of the local sidecar (undefined when remote or stopped). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The connected client, starting the sidecar first if needed. */
  async ensure(): Promise<SidecarClient> {
    if (this.disposed) throw new Error('Diffusion Studio is shutting down');
    if (this.client?.isOpen) return this.client;
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private setState(s: SidecarState): void {
    this.state = s;
    this.stateEmitter.fire(s);
  }

  private async start(): Promise<SidecarClient> {
    this.setState('starting');
    const s = readSettings();
    try {
      const client = s.sidecarUrl ? await this.connectRemote(s) : await this.launchLocal(s);
      client.on('log', (e) => this.log.appendLine(`[${e.level}]${e.jobId ? ` (${e.jobId})` : ''} ${e.message}`));
      client.once('close', (err) => this.onConnectionLost(client, err.message));
      this.capabilities = await client.hello({ name: 'vscode-diffusion-studio', version: vscode.version });
      this.client = client;
      this.log.appendLine(
        `[extension] sidecar ready: ${this.capabilities.executionProvider} on ${this.capabilities.deviceName}, ` +
          `ONNX Runtime ${this.capabilities.ortVersion}, pid ${this.capabilities.pid}`,
      );
      this.setState('ready');
      this.warmUp(client, s);
      return client;
    } catch (err) {
      this.setState('stopped');
      this.log.appendLine(`[extension] could not start the sidecar: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * The model in the settings is made ready in the background: the sidecar runs what the user's first
   * request will run (the same settings, through its whole job path, writing nothing), so that request
   * costs about what a later one does. A request sent meanwhile makes the warm-up stop at its next step.
   * A model that cannot be warmed is only logged: the request will say why. A sidecar older than
   * warm-up settings (a remote one) is asked with the model alone.
   */
  private warmUp(client: SidecarClient, s: Settings): void {
    const model = s.model;
    if (!model || !this.capabilities?.jobKinds.generate) return;
    const student = this.capabilities.models.find((m) => m.id === model);
    let params: WarmupParams | undefined;
    try {
      params = requestSettings(s, student?.distilledSteps);
    } catch (err) {
      this.log.appendLine(`[extension] warming ${model} up with its own settings: ${(err as Error).message}`);
    }
    client
      .warmup(model, params)
      .catch((err: SidecarError) => (params && err.code === 'invalid_message' ? client.warmup(model) : Promise.reject(err)))
      .then(
        (r) => this.log.appendLine(`[extension] ${r.model} ${r.completed === false ? 'partly warmed' : 'ready'} in ${r.ms.toFixed(0)} ms${r.completed === false ? ' (it gave way to a request)' : ''}`),
        (err: Error) => this.log.appendLine(`[extension] could not warm ${model} up: ${err.message}`),
      );
  }

  private async launchLocal(s: Settings): Promise<SidecarClient> {
    // The extension host's own runtime runs the sidecar; under Electron it must be told to act as Node.
    const node = s.nodePath || process.execPath;
    const args = s.device === 'auto' ? [] : ['--device', s.device];
    for (const folder of [...s.modelsFolders.map(resolveFolder), distillFolder(s)]) {
      if (fs.existsSync(folder)) args.push('--models', folder);
    }
    const cli = path.join(this.extensionPath, 'dist', 'cli.js');
    this.log.appendLine(`[extension] starting the sidecar: ${node} ${cli} serve`);
    const launched = await launchSidecar({
      command: [node, cli],
      args,
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      cwd: this.extensionPath,
      onStderr: (line) => this.log.appendLine(line),
    });
    this.child = launched.process;
    const child = launched.process;
    child.once('exit', (code, signal) => {
      this.log.appendLine(`[extension] sidecar pid ${child.pid} exited (code ${code}, signal ${signal})`);
      if (this.child === child) this.child = undefined;
    });
    return launched.client;
  }

  private async connectRemote(s: Settings): Promise<SidecarClient> {
    const secret = await remoteSecret(this.secrets);
    if (!secret) throw new Error('diffusionStudio.sidecar.url is set but no secret is stored: run "Diffusion Studio: Set Remote Sidecar Secret"');
    const trust = remoteTrust({ ca: s.sidecarCa ? resolveFolder(s.sidecarCa) : '', certificateSha256: s.sidecarCertificateSha256 });
    const how = trust.certificateSha256 ? ', certificate pinned' : trust.ca ? `, trusting ${s.sidecarCa}` : '';
    this.log.appendLine(`[extension] connecting to the remote sidecar at ${s.sidecarUrl}${how}`);
    return SidecarClient.connect({ url: s.sidecarUrl, secret, ...trust });
  }

  /** The connection ended without us asking: report it and start again (bounded). */
  private onConnectionLost(client: SidecarClient, reason: string): void {
    if (this.client !== client && this.client !== undefined) return;
    this.client = undefined;
    this.capabilities = undefined;
    if (this.stopping || this.disposed) {
      this.setState('stopped');
      return;
    }
    this.log.appendLine(`[extension] lost the sidecar: ${reason}`);
    this.killUnresponsive();
    this.setState('crashed');
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      void vscode.window
        .showErrorMessage(`Diffusion Studio: the sidecar keeps stopping (${reason}). See its log.`, 'Show Log', 'Restart')
        .then((pick) => this.onCrashAction(pick));
      return;
    }
    this.restarts.push(now);
    void vscode.window.showWarningMessage(`Diffusion Studio: the sidecar stopped (${reason}); restarting it.`, 'Show Log').then((pick) => this.onCrashAction(pick));
    this.ensure().then(
      () => this.restartEmitter.fire({ reason }),
      (err) => void vscode.window.showErrorMessage(`Diffusion Studio: the sidecar could not be restarted: ${(err as Error).message}`),
    );
  }

  /**
   * A sidecar that stopped answering heartbeats may still be alive (hung, stopped, swapping): it holds
   * its job, its memory (on a GPU too) and its stdin pipe. Its whole process group is killed before a
   * new one starts; SIGKILL, because a stopped process acts on no other signal.
   */
  private killUnresponsive(): void {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    this.log.appendLine(`[extension] killing the unresponsive sidecar (pid ${child.pid}) and its process group`);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL'); // not a group leader (started by an older build): the process alone
    }
    this.child = undefined;
  }

  private onCrashAction(pick: string | undefined): void {
    if (pick === 'Show Log') this.log.show(true);
    if (pick === 'Restart') void this.restart();
  }

  /** Stops the sidecar (asking it to shut down, then by signal) and forgets the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    try {
      await this.starting?.catch(() => undefined);
      const client = this.client;
      const child = this.child;
      this.client = undefined;
      this.capabilities = undefined;
      if (client?.isOpen && child) {
        await Promise.race([client.shutdown().catch(() => undefined), delay(2000)]);
      }
      client?.close();
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, delay(3000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      this.child = undefined;
      this.setState('stopped');
    } finally {
      this.stopping = false;
    }
  }

  async restart(): Promise<SidecarClient> {
    await this.stop();
    this.restarts = [];
    return this.ensure();
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    this.stateEmitter.dispose();
    this.restartEmitter.dispose();
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
