/**
 * The contract between the job worker and a job handler, apart from both: handlers (one file per kind
 * in this folder) and the registry import it, it imports neither, so no import cycle can form.
 *
 * A handler receives validated parameters (model ids already resolved to absolute folders) and a
 * context: report progress, check `isCancelled()` between steps (denoising or training) and stop, write
 * files atomically (staging.ts), return the files. It need not catch anything: whatever it throws is
 * mapped to a protocol error in one place (errors.ts).
 */
import type { JobKind, JobOutput, JobParamsMap, SidecarError } from '../../protocol';

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
  /** The error the job ends with once isCancelled() is seen. */
  cancelled(): SidecarError;
  onProgress(update: ProgressUpdate): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

export type JobHandler<K extends JobKind> = (params: JobParamsMap[K], ctx: JobContext) => Promise<JobOutput>;

/** The request fields that name input images: checked before queueing, and blamed when unreadable. */
const IMAGE_PARAMS = ['image', 'initImage'] as const;

export function inputImages(params: object): string[] {
  const p = params as Record<string, unknown>;
  return IMAGE_PARAMS.map((key) => p[key]).filter((v): v is string => typeof v === 'string');
}
