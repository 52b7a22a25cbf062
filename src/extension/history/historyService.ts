/**
 * The workspace's image history: every PNG of the workspace folders with A1111 parameters (scan.ts),
 * kept fresh by a file watcher, and the actions on one entry (re-run, delete to the trash). Being read
 * from the files themselves, it survives a window reload and includes images made on the command line.
 */
import * as vscode from 'vscode';
import type { GenerateOverrides, JobService, ResultItem } from '../jobs';
import type { ModelCatalog } from '../models';
import { fillFromInfo } from '../pngInfo/pngInfo';
import { scanHistory, searchHistory, type CachedRead, type HistoryEntry } from './scan';

/**
 * A list older than this is scanned again before it is searched. The file watcher is the first way a
 * new image comes in, but its events can come late or not at all (a loaded machine, a watcher limit,
 * a network drive), and a rescan is cheap: files read before are not read again.
 */
const FRESH_MS = 2000;

export class HistoryService implements vscode.Disposable {
  private entries: HistoryEntry[] = [];
  /** The scan running now, and the one to run after it (requested while it ran: it may miss new files). */
  private scanning?: Promise<HistoryEntry[]>;
  private rescan?: Promise<HistoryEntry[]>;
  /** When the scan that gave `entries` ended (0: never). */
  private scannedAt = 0;
  private readonly reads = new Map<string, CachedRead>();
  private timer?: ReturnType<typeof setTimeout>;
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.emitter];

  constructor(
    private readonly jobs: JobService,
    private readonly models: ModelCatalog,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.png');
    const later = () => this.refreshSoon();
    this.subscriptions.push(watcher, watcher.onDidCreate(later), watcher.onDidChange(later), watcher.onDidDelete(later));
    // A result written outside the workspace folders is not watched: pick it up when the job ends.
    this.subscriptions.push(jobs.onDidAddItems(later), vscode.workspace.onDidChangeWorkspaceFolders(later));
  }

  /** The entries matching `query` (every word in the prompt or negative prompt), newest first. */
  async list(query = ''): Promise<HistoryEntry[]> {
    if (this.scanning) await (this.rescan ?? this.scanning);
    else if (Date.now() - this.scannedAt > FRESH_MS) await this.refresh();
    return searchHistory(this.entries, query);
  }

  find(file: string): HistoryEntry | undefined {
    return this.entries.find((e) => e.path === file);
  }

  /** Scans the workspace folders again (one scan at a time: a request during a scan gets the next). */
  refresh(): Promise<HistoryEntry[]> {
    if (!this.scanning) return this.startScan();
    const next = () => {
      this.rescan = undefined;
      return this.startScan();
    };
    this.rescan ??= this.scanning.then(next, next);
    return this.rescan;
  }

  private startScan(): Promise<HistoryEntry[]> {
    const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const scan = scanHistory(roots, { cache: this.reads }).then((entries) => {
      this.entries = entries;
      // The end, not the start: listeners of onDidChange call list() at once, and a scan longer than
      // FRESH_MS counted from its start would have them start another, and so on.
      this.scannedAt = Date.now();
      this.emitter.fire();
      return entries;
    });
    const current = scan.finally(() => {
      if (this.scanning === current) this.scanning = undefined;
    });
    this.scanning = current;
    return current;
  }

  private refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), 300);
  }

  /**
   * Generates again with the entry's parameters (prompt, negative prompt, seed, steps, scale, sampler,
   * square size, model when listed); what does not fit is named in a warning and left to the settings.
   */
  async rerun(entry: HistoryEntry): Promise<ResultItem[]> {
    const fill = fillFromInfo(entry, await this.models.list());
    const s = fill.settings;
    const over: GenerateOverrides = { prompt: fill.prompt, negativePrompt: s.negativePrompt ?? '', count: 1 };
    if (s.model !== undefined) over.model = s.model;
    if (typeof s.steps === 'number') over.steps = s.steps;
    if (typeof s.guidanceScale === 'number') over.guidanceScale = s.guidanceScale;
    if (s.scheduler !== undefined) over.scheduler = s.scheduler as GenerateOverrides['scheduler'];
    if (typeof s.seed === 'number') over.seed = s.seed;
    if (typeof s.size === 'number' && s.size > 0) over.width = over.height = s.size;
    const skipped = [...fill.skipped];
    if (entry.kind !== 'generate') skipped.push(`this ${entry.kind === 'edit' ? 'edit' : 'variation'} is re-run as text to image (its input picture is not recorded in the PNG)`);
    if (skipped.length) void vscode.window.showWarningMessage(`Diffusion Studio: re-running ${vscode.workspace.asRelativePath(entry.path)} with the current settings for: ${skipped.join('; ')}.`);
    return this.jobs.generate(over);
  }

  /** Moves the file to the trash after the user confirms (permanently only where there is no trash, and only if confirmed again). */
  async delete(entry: HistoryEntry): Promise<boolean> {
    const uri = vscode.Uri.file(entry.path);
    const name = vscode.workspace.asRelativePath(uri);
    const ok = await vscode.window.showWarningMessage(`Move ${name} to the trash?`, { modal: true, detail: entry.prompt }, 'Move to Trash');
    if (ok !== 'Move to Trash') return false;
    try {
      await vscode.workspace.fs.delete(uri, { useTrash: true });
    } catch (err) {
      const again = await vscode.window.showWarningMessage(
        `${name} cannot be moved to the trash here (${(err as Error).message}). Delete it permanently?`,
        { modal: true },
        'Delete Permanently',
      );
      if (again !== 'Delete Permanently') return false;
      await vscode.workspace.fs.delete(uri, { useTrash: false });
    }
    await this.refresh();
    return true;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.subscriptions) d.dispose();
  }
}
