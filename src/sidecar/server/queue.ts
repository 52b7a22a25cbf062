/**
 * JobQueue: every job of one sidecar, one device, one job running at a time. Interactive jobs
 * (generate, edit) run before background ones (distill); within a priority, first come first served.
 * It owns the job records (state, progress, output) and tells the server what happened through
 * listeners; it knows nothing of sockets.
 */
import { basename } from 'node:path';
import {
  SidecarError,
  type JobInfo,
  type JobKind,
  type JobOutput,
  type JobState,
  type JobTimings,
  type Priority,
} from '../../protocol';
import type { RunningJob, WorkerHost, WorkerLog, WorkerProgress } from './worker-host';

export interface QueueListener {
  /** A job changed state (queued, running, succeeded, failed, cancelled). */
  job(info: JobInfo, owner: string): void;
  progress(p: WorkerProgress & { etaMs?: number }, owner: string): void;
  log(l: WorkerLog, owner: string): void;
  result(jobId: string, output: JobOutput, owner: string): void;
  failed(jobId: string, error: SidecarError, owner: string): void;
}

interface JobRecord {
  info: JobInfo;
  owner: string;
  params: unknown;
  seq: number;
  /** performance.now() when the request arrived (the start of the job's serverMs). */
  receivedAt: number;
  /** Whether the 'running' state change has gone out (it follows the reply; see pump). */
  announced?: boolean;
  running?: RunningJob;
  stageStart?: { stage: string; at: number; step: number };
  /**
   * Set for a warm-up run (jobs/warmup.ts): a generate job like any other on the worker, but no
   * client's: not listed, not cancellable by id, no state changes sent, its events addressed to no
   * client; it gives way to a job submitted while it runs (stops at its next step).
   */
  warmup?: { resolve(r: WarmupRun): void; reject(e: SidecarError): void };
}

/** How a warm-up run ended: its output, or undefined when it gave way to a job; `ms` on the worker. */
export interface WarmupRun {
  output?: JobOutput;
  ms: number;
}

/** The owner of warm-up runs: no client has this id, so their events go nowhere. */
export const NO_CLIENT = '';

export const DEFAULT_PRIORITY: Record<JobKind, Priority> = {
  generate: 'interactive',
  edit: 'interactive',
  distill: 'background',
  xyplot: 'interactive',
};

export class JobQueue {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly waiting: JobRecord[] = [];
  /** Warm-up runs wait for the worker after every queued job (a user's request comes first). */
  private readonly warmups: JobRecord[] = [];
  private warmupSeq = 0;
  private running?: JobRecord;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly host: WorkerHost,
    private readonly listener: QueueListener,
    private readonly limits = { maxQueued: 1000, keepFinished: 500 },
  ) {}

  /**
   * Queues a job; throws SidecarError when the queue is full or shutting down. `receivedAt`
   * (performance.now() when its request arrived) starts the clock of its timings' serverMs.
   */
  submit(kind: JobKind, params: unknown, owner: string, priority = DEFAULT_PRIORITY[kind], receivedAt = performance.now()): JobInfo {
    if (this.closed) throw new SidecarError('shutting_down', 'the sidecar is shutting down and takes no new jobs');
    if (this.waiting.length >= this.limits.maxQueued) {
      throw new SidecarError('queue_full', `the queue already holds ${this.waiting.length} jobs; try again later`);
    }
    const seq = ++this.seq;
    const jobId = `job-${seq}`;
    const rec: JobRecord = {
      info: { jobId, kind, state: 'queued', priority, createdAt: Date.now(), ...labelOf(params) },
      owner,
      params,
      seq,
      receivedAt,
    };
    this.jobs.set(jobId, rec);
    this.waiting.push(rec);
    this.waiting.sort(byPriority);
    const info = this.info(rec);
    // A warm-up in progress gives way: it stops at its next step and this job runs.
    if (this.running?.warmup) this.running.running?.cancel();
    // The worker gets the job before the 'queued' event goes out (0.05-0.08 ms less before it starts);
    // the event still comes first, as the worker's messages are read only after this returns.
    this.pump();
    this.listener.job(info, owner);
    return info;
  }

  /**
   * Runs one warm-up request (jobs/warmup.ts: generate `params`, checked and resolved like a client's)
   * on the worker when no job waits. Resolves with its output, or without one when a job submitted
   * meanwhile made it stop; rejects as a job fails.
   */
  warm(params: unknown): Promise<WarmupRun> {
    if (this.closed) return Promise.reject(new SidecarError('shutting_down', 'the sidecar is shutting down and takes no new work'));
    return new Promise<WarmupRun>((resolve, reject) => {
      const jobId = `warmup-${++this.warmupSeq}`;
      this.warmups.push({
        info: { jobId, kind: 'generate', state: 'queued', priority: 'background', createdAt: Date.now() },
        owner: NO_CLIENT,
        params,
        seq: 0,
        receivedAt: 0,
        warmup: { resolve, reject },
      });
      setImmediate(() => this.pump());
    });
  }

  /** Cancels a queued job at once, or a running one at its next step. Returns the state after. */
  cancel(jobId: string): JobState {
    const rec = this.jobs.get(jobId);
    if (!rec) throw new SidecarError('job_not_found', `no job with id ${jobId}`);
    if (rec.info.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(rec), 1);
      this.end(rec, new SidecarError('cancelled', `job ${jobId} was cancelled before it started`, jobId));
    } else if (rec.info.state === 'running') {
      rec.running?.cancel();
    }
    return rec.info.state;
  }

  get(jobId: string): JobInfo {
    const rec = this.jobs.get(jobId);
    if (!rec) throw new SidecarError('job_not_found', `no job with id ${jobId}`);
    return this.info(rec);
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((r) => this.info(r));
  }

  /** Refuses new jobs, cancels the queued and the running one; resolves when nothing runs. */
  async shutdown(graceMs = 3000): Promise<number> {
    this.closed = true;
    for (const w of this.warmups.splice(0)) w.warmup!.reject(new SidecarError('shutting_down', 'the sidecar is shutting down; the warm-up was not run'));
    let n = 0;
    for (const rec of [...this.waiting]) {
      this.cancel(rec.info.jobId);
      n++;
    }
    const run = this.running;
    if (run) {
      n++;
      run.running?.cancel();
      const ended = run.running?.result.catch(() => undefined);
      await Promise.race([ended, new Promise((r) => setTimeout(r, graceMs))]);
    }
    return n;
  }

  /**
   * Starts the next job on the worker at once (a job submitted to an idle queue starts before its
   * request is even answered: the worker's time is what the user waits for). Its 'running' state
   * change goes out on the next turn of the event loop, after the submitter's reply.
   */
  private pump(): void {
    if (this.running || this.host.busy) return;
    const rec = this.waiting.shift() ?? this.warmups.shift();
    if (!rec) return;
    this.running = rec;
    rec.info.state = 'running';
    rec.info.startedAt = Date.now();
    // A warm-up's clock starts on the worker (its request waited behind the jobs, by design).
    if (rec.warmup) rec.receivedAt = performance.now();
    setImmediate(() => this.announce(rec));
    rec.running = this.host.run(rec.info.jobId, rec.info.kind, rec.params, {
      progress: (p) => this.onProgress(rec, p),
      log: (l) => this.listener.log(l, rec.owner),
    });
    rec.running.result.then(
      (output) => this.end(rec, output),
      (err: SidecarError) => this.end(rec, err),
    );
  }

  /** The 'running' state change, once, before anything else the job reports. */
  private announce(rec: JobRecord): void {
    if (rec.announced) return;
    rec.announced = true;
    if (rec.warmup) return;
    this.listener.job({ ...this.info(rec), state: 'running' }, rec.owner);
  }

  private onProgress(rec: JobRecord, p: WorkerProgress): void {
    this.announce(rec);
    Object.assign(rec.info, { stage: p.stage, step: p.step, total: p.total });
    const now = Date.now();
    if (rec.stageStart?.stage !== p.stage) rec.stageStart = { stage: p.stage, at: now, step: p.step };
    this.listener.progress({ ...p, etaMs: p.etaMs ?? etaOf(rec.stageStart, p, now) }, rec.owner);
  }

  private end(rec: JobRecord, outcome: JobOutput | SidecarError): void {
    if (rec.info.state === 'running') this.announce(rec);
    const failed = outcome instanceof SidecarError;
    rec.info.state = failed ? (outcome.code === 'cancelled' ? 'cancelled' : 'failed') : 'succeeded';
    rec.info.finishedAt = Date.now();
    if (failed) rec.info.error = { code: outcome.code, message: outcome.message };
    else rec.info.output = withServerTimings(outcome, performance.now() - rec.receivedAt);
    rec.params = undefined;
    rec.running = undefined;
    if (this.running === rec) this.running = undefined;
    // The submitter's outcome first: it is what the user waits for; the state change to every client next.
    if (failed) this.listener.failed(rec.info.jobId, outcome, rec.owner);
    else this.listener.result(rec.info.jobId, rec.info.output!, rec.owner);
    if (rec.warmup) this.settleWarmup(rec, outcome);
    else this.listener.job(this.info(rec), rec.owner);
    this.forgetOld();
    setImmediate(() => this.pump());
  }

  private settleWarmup(rec: JobRecord, outcome: JobOutput | SidecarError): void {
    const ms = performance.now() - rec.receivedAt;
    if (!(outcome instanceof SidecarError)) rec.warmup!.resolve({ output: rec.info.output, ms });
    else if (outcome.code === 'cancelled' && !this.closed) rec.warmup!.resolve({ ms });
    else rec.warmup!.reject(outcome);
  }

  private info(rec: JobRecord): JobInfo {
    const info = { ...rec.info };
    if (info.state === 'queued') info.position = this.waiting.indexOf(rec);
    return info;
  }

  /** Keeps memory flat over long sessions: only the most recent finished jobs are remembered. */
  private forgetOld(): void {
    let finished = 0;
    for (const r of this.jobs.values()) if (r.info.finishedAt !== undefined) finished++;
    for (const [id, r] of this.jobs) {
      if (finished <= this.limits.keepFinished) break;
      if (r.info.finishedAt !== undefined) {
        this.jobs.delete(id);
        finished--;
      }
    }
  }
}

/** serverMs, and (when the handler measured its parts) jobPathMs: what the parts leave of it. */
function withServerTimings(output: JobOutput, serverMs: number): JobOutput {
  const parts: JobTimings = output.timings ?? {};
  const measured: (number | undefined)[] = [parts.ortMs, parts.loadMs, parts.pipelineMs, parts.pngMs, parts.filesMs];
  const timings: JobTimings = { ...parts, serverMs };
  if (measured.every((x) => x !== undefined)) timings.jobPathMs = serverMs - (measured as number[]).reduce((a, b) => a + b, 0);
  return { ...output, timings };
}

/** The job's label (JobInfo.label): its prompt, or a distillation's teacher; at most 200 characters. */
function labelOf(params: unknown): { label?: string } {
  const p = (params ?? {}) as { prompt?: unknown; teacher?: unknown };
  const text = typeof p.prompt === 'string' ? p.prompt : typeof p.teacher === 'string' ? `distill ${basename(p.teacher)}` : undefined;
  return text === undefined ? {} : { label: text.slice(0, 200) };
}

function byPriority(a: JobRecord, b: JobRecord): number {
  const rank = (r: JobRecord) => (r.info.priority === 'interactive' ? 0 : 1);
  return rank(a) - rank(b) || a.seq - b.seq;
}

/** Remaining time from the rate of the current stage (steps done since the stage began). */
function etaOf(start: { at: number; step: number }, p: WorkerProgress, now: number): number | undefined {
  const done = p.step - start.step;
  if (done <= 0 || p.total <= 0) return undefined;
  return Math.round(((now - start.at) / done) * (p.total - p.step));
}
