/**
 * WorkerHost: the main thread's side of the job worker. It starts the worker (the bundled dist/worker.js,
 * or worker.ts through tsx when the sidecar itself runs from source), hands it one job at a time, relays
 * its progress, and turns a worker crash into a failed job (a fresh worker is started for the next job).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SidecarError, type JobKind, type JobOutput } from '../../protocol';
import type { FromWorker, RunJob, ToWorker, WorkerInit } from './worker-messages';

export type WorkerProgress = Extract<FromWorker, { type: 'progress' }>;
export type WorkerLog = Extract<FromWorker, { type: 'log' }>;

export interface RunningJob {
  /** Resolves with the job's output; rejects with a SidecarError (cancelled, job_failed, ...). */
  result: Promise<JobOutput>;
  /** Sets the shared cancel flag; the handler sees it at its next step. */
  cancel(): void;
}

interface Current {
  jobId: string;
  resolve(o: JobOutput): void;
  reject(e: SidecarError): void;
  onProgress(p: WorkerProgress): void;
  onLog(l: WorkerLog): void;
}

/**
 * How to start the worker: the bundled dist/worker.js beside this bundle, or, when the sidecar runs from
 * source under tsx, worker.ts through tsx's require hook (Node 20 does not apply `--import tsx` from a
 * worker's execArgv, so a two-line CommonJS bootstrap registers it).
 */
export function workerEntry(): { entry: string; eval: boolean } {
  if (__filename.endsWith('.ts')) {
    const hook = require.resolve('tsx/cjs');
    const file = join(__dirname, 'worker.ts');
    return { entry: `require(${JSON.stringify(hook)});\nrequire(${JSON.stringify(file)});`, eval: true };
  }
  const bundled = join(__dirname, 'worker.js');
  if (!existsSync(bundled)) throw new Error(`the job worker ${bundled} is missing: run \`npm run build\``);
  return { entry: bundled, eval: false };
}

export class WorkerHost {
  private worker?: Worker;
  private current?: Current;

  /** `entry` defaults to the real worker (see workerEntry); tests of crash handling pass their own. */
  constructor(
    private readonly init: WorkerInit,
    private readonly entry: () => { entry: string; eval: boolean } = workerEntry,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  run(
    jobId: string,
    kind: JobKind,
    params: unknown,
    on: { progress(p: WorkerProgress): void; log(l: WorkerLog): void },
  ): RunningJob {
    if (this.current) throw new Error(`worker busy with ${this.current.jobId}`);
    const cancelFlag = new SharedArrayBuffer(4);
    const result = new Promise<JobOutput>((resolve, reject) => {
      this.current = { jobId, resolve, reject, onProgress: on.progress, onLog: on.log };
    });
    const msg: RunJob = { type: 'run', jobId, kind, params, cancelFlag };
    this.send(msg);
    return { result, cancel: () => Atomics.store(new Int32Array(cancelFlag), 0, 1) };
  }

  /** Stops the worker thread (a running job fails with `reason`). */
  async terminate(reason = 'the sidecar is shutting down'): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.finish((c) => c.reject(new SidecarError('cancelled', reason, c.jobId)));
    if (w) await w.terminate();
  }

  /** Hands the current job to the worker; a worker that cannot start fails that job (not the server). */
  private send(msg: ToWorker): void {
    try {
      this.ensureWorker().postMessage(msg);
    } catch (err) {
      this.finish((c) => c.reject(new SidecarError('job_failed', `the job worker cannot start: ${(err as Error).message}`, c.jobId)));
    }
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const { entry, eval: isCode } = this.entry();
    // V8 grows a thread's young generation on demand up to 3 x 16 MiB and keeps it; the worker's big data
    // lives in typed arrays (outside the JS heap), so a small young generation costs nothing and keeps
    // resident memory flat: 300 tiny jobs grew RSS by 20% with the default, 4% with this limit.
    const w = new Worker(entry, { workerData: this.init, eval: isCode, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    w.on('message', (m: FromWorker) => this.onMessage(m));
    w.on('error', (err) => this.onCrash(w, `the job worker crashed: ${err.message}`));
    w.on('exit', (code) => this.onCrash(w, `the job worker exited unexpectedly (code ${code})`));
    this.worker = w;
    return w;
  }

  private onMessage(m: FromWorker): void {
    const c = this.current;
    if (m.type === 'ready' || !c || m.jobId !== c.jobId) return;
    switch (m.type) {
      case 'progress':
        return c.onProgress(m);
      case 'log':
        return c.onLog(m);
      case 'done':
        return this.finish((cur) => {
          try {
            cur.resolve(JSON.parse(m.output) as JobOutput);
          } catch (err) {
            cur.reject(new SidecarError('job_failed', `the job worker sent an unreadable output: ${(err as Error).message}`, cur.jobId));
          }
        });
      case 'failed':
        return this.finish((cur) => cur.reject(new SidecarError(m.code, m.message, cur.jobId)));
    }
  }

  private onCrash(w: Worker, reason: string): void {
    if (this.worker !== w) return; // an old worker we already replaced or terminated
    this.worker = undefined;
    void w.terminate();
    this.finish((c) => c.reject(new SidecarError('job_failed', reason, c.jobId)));
  }

  private finish(settle: (c: Current) => void): void {
    const c = this.current;
    this.current = undefined;
    if (c) settle(c);
  }
}
