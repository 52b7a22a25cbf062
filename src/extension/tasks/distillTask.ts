/**
 * The `diffusion-distill` task type: a distillation run configured in tasks.json, executed by the
 * sidecar, shown in a terminal (CustomExecution over a Pseudoterminal) and as a picture beside it (the
 * distillation progress panel: loss curve, a sample row per finished phase). Stopping the task cancels
 * the job, which saves a checkpoint; running the task again resumes from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DistillParams, JobHandle, ProgressEvent } from '../../protocol';
import { distillFolder, resolveFolder } from '../config';
import type { DistillProgressPanel } from '../distillProgress/distillPanel';
import type { DistillProgressState } from '../distillProgress/progressState';
import type { ModelCatalog } from '../models';
import type { SidecarManager } from '../sidecar';
import { checkDefinition } from './distillDefinition';

export const DISTILL_TASK_TYPE = 'diffusion-distill';

export interface DistillTaskDefinition extends vscode.TaskDefinition {
  type: typeof DISTILL_TASK_TYPE;
  mode: 'progressive' | 'guided';
  teacher: string;
  teacherSteps?: number;
  targetSteps?: number;
  iterations?: number;
  outputFolder?: string;
  guidanceRange?: [number, number];
  studentChannels?: number;
  /** LoRA rank; 0: every weight (default by teacher size, see DistillParams). */
  loraRank?: number;
  /** Sample images per finished phase for the progress panel (default 4; 0: none). */
  samples?: number;
}

/** Samples per finished phase when the task does not say: enough to see a trend, cheap at 32x32. */
export const DEFAULT_SAMPLES = 4;

/** The student's folder: the task's outputFolder, or <distillFolder>/<teacher>-<mode>-<steps>. */
export function studentFolder(def: DistillTaskDefinition): string {
  if (def.outputFolder) return resolveFolder(def.outputFolder);
  const teacher = path.basename(def.teacher).replace(/[^\w.-]+/g, '_');
  return path.join(distillFolder(), `${teacher}-${def.mode}-${def.targetSteps ?? 4}`);
}

export function distillParams(def: DistillTaskDefinition): DistillParams {
  const outputDir = studentFolder(def);
  const params: DistillParams = { teacher: def.teacher, outputDir, method: def.mode, studentSteps: def.targetSteps ?? 4 };
  if (def.teacherSteps) params.teacherSteps = def.teacherSteps;
  if (def.iterations) params.iterationsPerRound = def.iterations;
  if (def.guidanceRange) params.guidanceRange = def.guidanceRange;
  if (def.studentChannels) params.studentChannels = def.studentChannels;
  if (def.loraRank !== undefined) params.loraRank = def.loraRank;
  params.samplesPerRound = def.samples ?? DEFAULT_SAMPLES;
  // A folder already there holds an earlier, stopped run: continue it rather than start over.
  if (fs.existsSync(outputDir)) params.resume = true;
  return params;
}

export class DistillTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly sidecar: SidecarManager,
    private readonly models: ModelCatalog,
    readonly progress: DistillProgressPanel,
  ) {}

  /** Offers one ready-made task: guided distillation of the configured model to 4 steps. */
  provideTasks(): vscode.Task[] {
    const teacher = vscode.workspace.getConfiguration('diffusionStudio').get<string>('model') ?? 'emoji-styles';
    return [this.makeTask({ type: DISTILL_TASK_TYPE, mode: 'guided', teacher, targetSteps: 4 })];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    return this.makeTask(task.definition as DistillTaskDefinition, task.name);
  }

  makeTask(def: DistillTaskDefinition, name?: string): vscode.Task {
    // A hand-written definition may be anything: the label must not throw (the terminal says what is wrong).
    const label = name ?? `distill ${path.basename(String(def.teacher))} (${String(def.mode)}) to ${String(def.targetSteps ?? 4)} steps`;
    const task = new vscode.Task(
      def,
      vscode.TaskScope.Workspace,
      label,
      'Diffusion Studio',
      new vscode.CustomExecution(async (resolved) => new DistillTerminal(resolved as DistillTaskDefinition, this.sidecar, this.models, this.progress)),
    );
    task.group = vscode.TaskGroup.Build;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
    return task;
  }
}

/** The task's terminal: writes progress lines and turns "stop" into a checkpointing cancel. */
export class DistillTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private job?: JobHandle;
  private stopped = false;
  private lastStage = '';
  private outputDir = '';
  /** This run's picture in the progress panel (set once the job is about to be submitted). */
  private shown?: DistillProgressState;

  constructor(
    private readonly def: DistillTaskDefinition,
    private readonly sidecar: SidecarManager,
    private readonly models: ModelCatalog,
    private readonly panel: DistillProgressPanel,
  ) {}

  open(): void {
    void this.run().then(
      (code) => this.closeEmitter.fire(code),
      (err: Error) => {
        this.line(`\x1b[31merror: ${err.message}\x1b[0m`);
        this.closeEmitter.fire(1);
      },
    );
  }

  /**
   * The terminal was closed (or the task stopped). A running job is cancelled (it checkpoints); a job
   * not yet submitted is never submitted, and one whose submission is in flight is cancelled as soon
   * as it has an id (run() checks `stopped` after each await).
   */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.job) return;
    this.line('stopping: the sidecar saves a checkpoint; run the task again to resume');
    void this.job.cancel().catch(() => undefined);
  }

  private async run(): Promise<number> {
    const problem = checkDefinition(this.def);
    if (problem) throw new Error(`this ${DISTILL_TASK_TYPE} task is not usable: ${problem}`);
    const params = distillParams(this.def);
    this.outputDir = params.outputDir;
    this.line(`\x1b[1mDiffusion Studio: ${params.method} distillation of ${params.teacher} to ${params.studentSteps} steps\x1b[0m`);
    this.line(`student: ${params.outputDir}${params.resume ? ' (resuming the earlier run)' : ''}`);
    const client = await this.sidecar.ensure();
    if (this.stopped) return this.stoppedBeforeStart();
    this.shown = this.panel.start(`${params.method} distillation of ${path.basename(params.teacher)} to ${params.studentSteps} steps`);
    this.job = await client.distill(params, { onProgress: (e) => this.progress(e), priority: 'background' });
    if (this.stopped) void this.job.cancel().catch(() => undefined);
    try {
      const result = await this.job.done;
      this.line('');
      for (const f of result.files.filter((x) => x.kind === 'model')) this.line(`model: ${f.path}`);
      this.line('\x1b[32mdone: the student is in the model list\x1b[0m');
      this.panel.end(this.shown, 'succeeded', `done: ${result.files.filter((x) => x.kind === 'model').length} students written to ${params.outputDir}`);
      this.models.invalidate();
      return 0;
    } catch (err) {
      const e = err as Error & { code?: string };
      this.line('');
      if (e.code === 'cancelled' || this.stopped) {
        this.line('stopped; checkpoint saved. Run the task again to resume.');
        this.panel.end(this.shown, 'cancelled', 'stopped; checkpoint saved. Run the task again to resume.');
        return 130;
      }
      this.panel.end(this.shown, 'failed', e.message);
      throw err;
    }
  }

  private stoppedBeforeStart(): number {
    this.line('stopped before the job was submitted: nothing ran');
    return 130;
  }

  private progress(e: ProgressEvent): void {
    if (this.shown) this.panel.progress(this.shown, e);
    if (e.stage.startsWith('samples ')) return this.samplesLine(e);
    const metrics = Object.entries(e.metrics ?? {})
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
      .join('  ');
    const eta = e.etaMs !== undefined ? `  ETA ${formatDuration(e.etaMs)}` : '';
    const text = `${e.stage}  step ${e.step}/${e.total}${metrics ? `  ${metrics}` : ''}${eta}`;
    // A new stage starts a new line; steps of one stage rewrite the same line.
    if (e.stage !== this.lastStage && this.lastStage) this.writeEmitter.fire('\r\n');
    this.lastStage = e.stage;
    this.writeEmitter.fire(`\r\x1b[K${text}`);
  }

  /** A finished phase's samples: their own line, between the phase's last step and the next phase's. */
  private samplesLine(e: ProgressEvent): void {
    const round = e.metrics?.round;
    this.writeEmitter.fire(`\r\n${e.stage}: ${e.total} images of phase ${round} in ${path.join(this.outputDir, 'samples')} (Distillation Progress panel)\r\n`);
    this.lastStage = '';
  }

  private line(text: string): void {
    this.writeEmitter.fire(`${text}\r\n`);
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
