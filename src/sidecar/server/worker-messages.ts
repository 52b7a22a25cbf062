/**
 * Messages between the sidecar's main thread and its job worker thread (internal; not the public
 * protocol). The cancel flag is a SharedArrayBuffer so the worker sees it while its own event loop is
 * blocked inside onnxruntime's run(): Int32 slot 0 becomes 1 on cancel.
 */
import type { ErrorCode, JobKind } from '../../protocol';

export interface WorkerInit {
  executionProviders: string[];
}

export interface RunJob {
  type: 'run';
  jobId: string;
  kind: JobKind;
  params: unknown;
  cancelFlag: SharedArrayBuffer;
}

export type ToWorker = RunJob;

export type FromWorker =
  | { type: 'ready' }
  | {
      type: 'progress';
      jobId: string;
      stage: string;
      step: number;
      total: number;
      etaMs?: number;
      preview?: string;
      metrics?: Record<string, number>;
    }
  | { type: 'log'; jobId: string; level: 'debug' | 'info' | 'warn' | 'error'; message: string }
  /** output: the JobOutput as JSON text (cheaper to pass between threads than the object). */
  | { type: 'done'; jobId: string; output: string }
  | { type: 'failed'; jobId: string; code: ErrorCode; message: string };
