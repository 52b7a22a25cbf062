/**
 * JobService: submits generate and edit jobs to the sidecar, follows their progress, and keeps this
 * session's results (the gallery). The results panel, the status bar and the commands all read from
 * here; nothing else talks to the sidecar about images.
 */
import { randomInt } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type EditParams, type GenerateParams, type JobHandle, type ProgressEvent, type ResultEvent, type XYAxis, type XYPlotParams } from '../protocol';
import type { GalleryItem, JobView } from '../../webview-ui/shared/messages';
import { outputFolder, readSettings, type Settings } from './config';
import { chosenSettings, madeWith, requestSettings } from './samplerSettings';
import type { ModelCatalog } from './models';
import type { SidecarManager } from './sidecar';
import { plotItem, plotParams } from './xyplot/plotItems';

/** A gallery item before a webview turned its path into a loadable URI, with the request that made it. */
export type ResultItem = Omit<GalleryItem, 'src'> & { request: GenerateParams | EditParams };

type ResultKind = 'generate' | 'edit' | 'xyplot';

/** Plain step updates of a job reach listeners at most this often (onProgress). */
const PROGRESS_MS = 100;
type Request = GenerateParams | EditParams | XYPlotParams;
/** A job's request, ready to go, and the call that submits it. */
interface Prepared {
  params: Request;
  submit: (onProgress: (e: ProgressEvent) => void) => Promise<JobHandle>;
}

export interface GenerateOverrides extends Partial<Omit<GenerateParams, 'prompt'>> {
  prompt: string;
}

export class JobService implements vscode.Disposable {
  readonly items: ResultItem[] = [];
  readonly jobs = new Map<string, JobView>();
  private readonly handles = new Map<string, JobHandle>();
  private readonly jobEmitter = new vscode.EventEmitter<JobView>();
  readonly onDidUpdateJob = this.jobEmitter.event;
  private readonly itemsEmitter = new vscode.EventEmitter<ResultItem[]>();
  readonly onDidAddItems = this.itemsEmitter.event;
  private nextItem = 1;
  private nextJob = 1;
  /** Settles when the latest job's request has been submitted (or failed to be): see run. */
  private submitTurn: Promise<void> = Promise.resolve();
  /** Per job: when listeners last heard of it, and a held-back step update (see onProgress). */
  private readonly lastFired = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly sidecar: SidecarManager,
    private readonly models: ModelCatalog,
  ) {}

  /**
   * Parameters of a generation from the current settings, with `over` taking precedence. Guidance,
   * steps and scheduler left to the model are not sent (the sidecar asks the model folder).
   */
  async generateParams(over: GenerateOverrides, s: Settings = readSettings()): Promise<GenerateParams> {
    const model = over.model ?? s.model;
    const student = (await this.models.list()).find((m) => m.id === model);
    const params: GenerateParams = {
      model,
      prompt: over.prompt,
      seed: over.seed ?? (s.seedMode === 'fixed' ? s.seed : randomInt(0, 2 ** 32 - 1)),
      outputDir: over.outputDir ?? outputFolder(s),
      ...requestSettings(s, student?.distilledSteps, over),
    };
    // Image-to-image (Vary Image, and its re-run): the starting picture and how much of it to repaint.
    if (over.initImage !== undefined) params.initImage = over.initImage;
    if (over.strength !== undefined) params.strength = over.strength;
    return params;
  }

  /** `title`: what the results panel calls the job (default: the prompt). */
  async generate(over: GenerateOverrides, title?: string): Promise<ResultItem[]> {
    return this.run('generate', truncate(title ?? over.prompt, 60), async () => {
      const params = await this.generateParams(over);
      const client = await this.sidecar.ensure();
      return { params, submit: (onProgress) => client.generate(params, { onProgress }) };
    });
  }

  async edit(image: string, prompt: string, over: Partial<EditParams> = {}): Promise<ResultItem[]> {
    return this.run('edit', `${path.basename(image)} → ${truncate(prompt, 40)}`, async () => {
      const params = this.editParams(image, prompt, over);
      const client = await this.sidecar.ensure();
      return { params, submit: (onProgress) => client.edit(params, { onProgress }) };
    });
  }

  private editParams(image: string, prompt: string, over: Partial<EditParams>): EditParams {
    const s = readSettings();
    return {
      model: s.model,
      image,
      prompt,
      etas: s.editEtas,
      ...(s.guidanceScale !== null ? { guidanceScale: s.guidanceScale } : {}),
      seed: s.seedMode === 'fixed' ? s.seed : randomInt(0, 2 ** 32 - 1),
      outputDir: outputFolder(s),
      previewEvery: 10,
      ...over,
    };
  }

  /**
   * An X/Y plot of `prompt` over two axes: one sidecar job (one queue entry, one cancel); the rest of
   * each cell's settings are the side panel's (xyplot/plotItems.ts).
   */
  async xyplot(prompt: string, x: XYAxis, y: XYAxis): Promise<ResultItem[]> {
    return this.run('xyplot', `X/Y plot · ${truncate(prompt, 50)}`, async () => {
      const params = plotParams(await this.generateParams({ prompt, count: 1 }), chosenSettings(readSettings()).steps, x, y);
      const client = await this.sidecar.ensure();
      return { params, submit: (onProgress) => client.xyplot(params, { onProgress }) };
    });
  }

  /** Re-runs the job that made `item`, with that image's own seed. */
  async rerun(item: ResultItem): Promise<ResultItem[]> {
    const seed = typeof item.params.seed === 'number' ? item.params.seed : undefined;
    if (item.kind === 'edit') {
      const req = item.request as EditParams;
      const eta = item.params.eta;
      return this.edit(req.image, req.prompt, { ...req, seed, etas: typeof eta === 'number' ? [eta] : req.etas });
    }
    // The same request, for this one image: its own seed, one image, written to today's output folder.
    // Settings the request left to the model are pinned to what the image was made with (from its PNG
    // parameters), so a settings change since then does not leak into the re-run.
    const { outputDir: _o, previewEvery: _p, ...req } = item.request as GenerateParams;
    return this.generate({ ...req, ...madeWith(item.params), seed, count: 1 });
  }

  /** Cancels the given job, or the running one; resolves false when there was nothing to cancel. */
  async cancel(jobId?: string): Promise<boolean> {
    const id = jobId ?? [...this.handles.keys()].pop();
    const h = id ? this.handles.get(id) : undefined;
    if (!h) return false;
    await h.cancel();
    return true;
  }

  get running(): JobView[] {
    return [...this.jobs.values()].filter((j) => j.state === 'queued' || j.state === 'running');
  }

  find(id: string): ResultItem | undefined {
    return this.items.find((i) => i.id === id);
  }

  /**
   * Jobs are known here by ids of this session: a restarted sidecar numbers its jobs from 1 again, and
   * the gallery groups images by job.
   */
  private newJobId(): string {
    return `job${this.nextJob++}`;
  }

  /**
   * Prepares a job's request, submits it and follows it to its result. The job is listed at once, before
   * the request goes out: a fast job's progress (and its previews) can arrive before the submit call
   * returns its handle, and an event for a job not yet listed would be dropped.
   *
   * Requests reach the sidecar in the order they were made: preparing one awaits the model list and
   * the sidecar, which take longer for the first of two quick requests (it fills the cache the second
   * reads), so without a turn the second Generate would run first. Each job prepares and submits after
   * the previous one's submit has been answered (not after it has run: the sidecar queues them).
   */
  private async run(kind: ResultKind, title: string, prepare: () => Promise<Prepared>): Promise<ResultItem[]> {
    const id = this.newJobId();
    this.update({ jobId: id, kind, title, stage: 'queued', step: 0, total: 0, state: 'queued' });
    let params!: Request;
    const submitted = this.submitTurn.then(async () => {
      const p = await prepare();
      params = p.params;
      return p.submit((e) => this.onProgress(id, e));
    });
    this.submitTurn = submitted.then(
      () => undefined,
      () => undefined,
    );
    let handle: JobHandle;
    try {
      handle = await submitted;
    } catch (err) {
      this.update({ ...this.jobs.get(id)!, state: 'failed', error: (err as Error).message });
      throw err;
    }
    this.handles.set(id, handle);
    void vscode.commands.executeCommand('setContext', 'diffusionStudio.jobRunning', true);
    try {
      const result = await handle.done;
      const items = this.toItems(id, result, kind, title, params);
      this.items.push(...items);
      this.update({ ...this.jobs.get(id)!, stage: 'done', state: 'succeeded', preview: undefined });
      this.itemsEmitter.fire(items);
      return items;
    } catch (err) {
      const e = err as Error & { code?: string };
      const state = e.code === 'cancelled' ? 'cancelled' : 'failed';
      this.update({ ...this.jobs.get(id)!, state, error: e.message, preview: undefined });
      throw err;
    } finally {
      this.lastFired.delete(id);
      this.handles.delete(id);
      void vscode.commands.executeCommand('setContext', 'diffusionStudio.jobRunning', this.handles.size > 0);
    }
  }

  /**
   * A step's progress. Jobs report every step (a 1000-step job on a small model: hundreds a second),
   * and every listener (results panel, side panel, status bar, Queue view) turns an update into work
   * across a process boundary; all of them at that rate made the extension host unresponsive for
   * seconds. So a job's plain step updates reach listeners at most every PROGRESS_MS (the latest one
   * wins); a change of state or stage, or a new preview, goes out at once.
   */
  private onProgress(id: string, e: ProgressEvent): void {
    const job = this.jobs.get(id);
    if (!job) return;
    const next: JobView = {
      ...job,
      state: 'running',
      stage: e.stage,
      step: e.step,
      total: e.total,
      etaMs: e.etaMs,
      preview: e.preview ? `data:image/png;base64,${e.preview}` : job.preview,
    };
    const now = performance.now();
    const urgent = job.state !== 'running' || job.stage !== e.stage || Boolean(e.preview) || now - (this.lastFired.get(id) ?? -Infinity) >= PROGRESS_MS;
    if (urgent) return this.update(next);
    this.jobs.set(id, next);
    if (!this.pending.has(id)) this.pending.set(id, setTimeout(() => this.flush(id), PROGRESS_MS));
  }

  /** The held-back latest update of job `id`, if it is still the job's latest. */
  private flush(id: string): void {
    this.pending.delete(id);
    const job = this.jobs.get(id);
    if (job) this.update(job);
  }

  private update(job: JobView): void {
    clearTimeout(this.pending.get(job.jobId));
    this.pending.delete(job.jobId);
    this.lastFired.set(job.jobId, performance.now());
    this.jobs.set(job.jobId, job);
    this.jobEmitter.fire(job);
  }

  private toItems(id: string, result: ResultEvent, kind: ResultKind, title: string, params: Request): ResultItem[] {
    const images = result.files.filter((f) => f.kind === 'image');
    if (kind === 'xyplot') return images.map((f) => ({ id: `r${this.nextItem++}`, jobId: id, ...plotItem(f, params as XYPlotParams) }));
    return images
      .map((f) => {
        // What the sidecar wrote into the PNG is the truth about the image; the request fills gaps.
        const meta: Record<string, unknown> = f.metadata && Object.keys(f.metadata).length ? { ...f.metadata } : { ...params };
        meta.prompt ??= params.prompt;
        const eta = meta.eta;
        const sheet = meta.contactSheet === true;
        return {
          id: `r${this.nextItem++}`,
          kind: kind as 'generate' | 'edit',
          path: f.path,
          sheet,
          title: sheet ? 'input and eta sweep' : kind === 'edit' && typeof eta === 'number' ? `eta ${eta}` : title,
          params: meta,
          jobId: id,
          request: params as GenerateParams | EditParams,
        };
      });
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.jobEmitter.dispose();
    this.itemsEmitter.dispose();
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
