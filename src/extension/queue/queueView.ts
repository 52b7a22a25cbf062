/**
 * The Queue view (side bar, Diffusion Studio container): the sidecar's queued and running jobs, from
 * every client, live. Its rows come from the sidecar itself: the job list when the connection is made
 * (jobStatus), then every `job` state change (sent to all clients) and the progress of this window's
 * own jobs; a job leaves the view when it ends. Cancel is an inline action and a context-menu entry
 * (both pass their row), and the Delete key (package.json), which passes nothing: VS Code gives a
 * keybinding's command no tree item, and the API does not expose the focused row, so Delete cancels
 * the selected rows (Enter selects the focused one). The palette's Cancel Job picks from the same jobs.
 *
 * Progress redraws only its own row. A whole-tree refresh makes VS Code's extension host forget every
 * row's handle until the workbench has asked for the rows again (a round trip): a context-menu Cancel
 * or Delete arriving in between gets no row and no selection. Redrawing the whole tree on each progress
 * event left that gap open most of the time (the UI test's Cancel did nothing), so the whole tree is
 * redrawn only when rows come, go or change order, and each job keeps one JobInfo object (the tree's
 * key for its row) for its whole life.
 */
import * as vscode from 'vscode';
import type { JobInfo, ProgressEvent, SidecarClient } from '../../protocol';
import type { SidecarManager } from '../sidecar';
import { isLive, jobDescription, jobLabel, jobTooltip, queueOrder } from './queueRows';

/** Progress events arrive every step; rows are redrawn at most this often. */
const REFRESH_MS = 250;

export class QueueView implements vscode.TreeDataProvider<JobInfo>, vscode.Disposable {
  static readonly viewId = 'diffusionStudio.queue';
  private readonly jobs = new Map<string, JobInfo>();
  private readonly changed = new vscode.EventEmitter<JobInfo[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<JobInfo>;
  private readonly subscriptions: vscode.Disposable[] = [];
  private client?: SidecarClient;
  /** Stops listening to the current client. */
  private detach?: () => void;
  private timer?: NodeJS.Timeout;
  /** Rows whose text changed since the last redraw. */
  private readonly dirty = new Set<JobInfo>();

  constructor(private readonly sidecar: SidecarManager) {
    this.view = vscode.window.createTreeView(QueueView.viewId, { treeDataProvider: this });
    this.subscriptions.push(this.view, sidecar.onDidChangeState((s) => (s === 'ready' ? void this.follow() : this.clear())));
    if (sidecar.state === 'ready') void this.follow();
  }

  /** The rows in queue order: running first, then the queued by position. */
  get rows(): JobInfo[] {
    return queueOrder(this.jobs.values());
  }

  get selection(): readonly JobInfo[] {
    return this.view.selection;
  }

  getChildren(element?: JobInfo): JobInfo[] {
    return element ? [] : this.rows;
  }

  getTreeItem(j: JobInfo): vscode.TreeItem {
    const item = new vscode.TreeItem(jobLabel(j), vscode.TreeItemCollapsibleState.None);
    item.id = j.jobId;
    item.description = jobDescription(j);
    item.tooltip = jobTooltip(j);
    item.contextValue = `job.${j.state}`;
    item.iconPath = new vscode.ThemeIcon(j.state === 'running' ? 'sync~spin' : 'clock');
    item.accessibilityInformation = { label: `${jobLabel(j)}, ${jobDescription(j)}` };
    return item;
  }

  /**
   * Cancels `job`, else the selected rows still listed; resolves with the (last) job's state after the
   * request (a running job says "running" until it stops at its next step), or undefined when there
   * was nothing to cancel.
   */
  async cancel(job?: JobInfo): Promise<string | undefined> {
    const targets = job ? [job] : this.view.selection.filter((j) => this.jobs.has(j.jobId));
    const client = this.client;
    if (!client) return undefined;
    let state: string | undefined;
    for (const t of targets) {
      const r = await client.cancel(t.jobId);
      if (!isLive(r.state)) this.remove(t.jobId);
      state = r.state;
    }
    return state;
  }

  /** A new connection: its job list, then its events. */
  private async follow(): Promise<void> {
    let client: SidecarClient;
    try {
      client = await this.sidecar.ensure();
    } catch {
      return; // the sidecar did not start; the manager reports why, and its next 'ready' comes here
    }
    if (client === this.client) return;
    this.clear();
    this.client = client;
    const onJob = (e: { job: JobInfo }) => this.onJob(e.job);
    const onProgress = (e: ProgressEvent) => this.onProgress(e);
    client.on('job', onJob);
    client.on('progress', onProgress);
    this.detach = () => {
      client.off('job', onJob);
      client.off('progress', onProgress);
    };
    let jobs: JobInfo[];
    try {
      ({ jobs } = await client.jobStatus());
    } catch {
      // The connection closed while listing (a restart): the next 'ready' follows the new one.
      return;
    }
    // Events that arrived meanwhile are newer than the list: keep them.
    for (const j of jobs) if (isLive(j.state) && !this.jobs.has(j.jobId)) this.jobs.set(j.jobId, { ...j });
    this.refresh();
  }

  private onJob(j: JobInfo): void {
    if (!isLive(j.state)) return this.remove(j.jobId);
    const known = this.jobs.get(j.jobId);
    if (!known) {
      this.jobs.set(j.jobId, { ...j });
      return this.refresh();
    }
    const moved = known.state !== j.state;
    Object.assign(known, j);
    if (moved) this.refresh();
    else this.redrawSoon(known);
  }

  private onProgress(e: ProgressEvent): void {
    const j = this.jobs.get(e.jobId);
    if (!j) return;
    const moved = j.state !== 'running';
    Object.assign(j, { state: 'running', stage: e.stage, step: e.step, total: e.total });
    if (moved) this.refresh();
    else this.redrawSoon(j);
  }

  private remove(jobId: string): void {
    if (this.jobs.delete(jobId)) this.refresh();
  }

  private clear(): void {
    this.detach?.();
    this.detach = undefined;
    this.client = undefined;
    this.jobs.clear();
    this.refresh();
  }

  /** Redraws `j`'s row (its text only) within REFRESH_MS. */
  private redrawSoon(j: JobInfo): void {
    this.dirty.add(j);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const rows = [...this.dirty].filter((r) => this.jobs.get(r.jobId) === r);
      this.dirty.clear();
      if (rows.length) this.changed.fire(rows);
    }, REFRESH_MS);
  }

  /** Redraws the whole tree now: rows came, went or changed order. */
  private refresh(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
    const n = this.jobs.size;
    // The count on the view container's icon: visible while the side bar shows something else.
    this.view.badge = n ? { value: n, tooltip: `${n} Diffusion Studio job${n === 1 ? '' : 's'} queued or running` } : undefined;
    this.changed.fire(undefined);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.detach?.();
    for (const d of this.subscriptions) d.dispose();
    this.changed.dispose();
  }
}
