/**
 * The job-handler registry: one function per job kind, run inside the worker thread. A pipeline plugs
 * in by adding one line to HANDLERS.
 *
 * A handler receives validated parameters (model ids already resolved to absolute folders) and a
 * context: report progress, check `isCancelled()` between steps (denoising or training) and throw
 * `ctx.cancelled()` when it is set, write files atomically (temp name, then rename), return the files.
 */
import { SidecarError, type JobKind, type JobOutput, type JobParamsMap } from '../../protocol';
import { generateHandler } from './generate-handler';
import { editHandler } from '../pipelines/imagic/job';
import { distillHandler } from '../pipelines/distill/handler';

export interface ProgressUpdate {
  stage: string;
  step: number;
  total: number;
  /** Estimated ms until the job ends; the server estimates it from the step rate when absent. */
  etaMs?: number;
  /** A small PNG of the current state. */
  preview?: Uint8Array;
  metrics?: Record<string, number>;
}

export interface JobContext {
  jobId: string;
  /** The providers chosen at start, e.g. ['cuda', 'cpu'] or ['cpu']. */
  executionProviders: string[];
  /**
   * Threads for one ONNX Runtime operator: all cores but one, so the server's own thread (pings,
   * cancels, progress) always has a core (DIFFUSION_STUDIO_THREADS overrides).
   */
  intraOpNumThreads: number;
  /** True once a client asked to cancel; read it between steps. */
  isCancelled(): boolean;
  /** The error to throw when isCancelled() is seen. */
  cancelled(): SidecarError;
  onProgress(update: ProgressUpdate): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

export type JobHandler<K extends JobKind> = (params: JobParamsMap[K], ctx: JobContext) => Promise<JobOutput>;

/** One line per kind. */
export const HANDLERS: { [K in JobKind]: JobHandler<K> } = {
  generate: generateHandler,
  edit: editHandler,
  distill: distillHandler,
};

/**
 * Which kinds this build can run, for hello's capabilities. Every kind has its pipeline now; a future
 * kind whose pipeline is not built yet would map to a handler throwing SidecarError('not_available').
 */
export function availableKinds(): Record<JobKind, boolean> {
  return { generate: true, edit: true, distill: true };
}
