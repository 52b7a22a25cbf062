/**
 * The one place that decides ONNX Runtime session options, for model files (runtime/sessions.ts) and
 * for graphs built in memory (the trainer, Imagic's tuned UNet) alike.
 *
 * Intra-op threads default to all logical cores but one (at least one), overridden by the request or
 * by DIFFUSION_STUDIO_THREADS. Why this rule:
 * - the core left over keeps the sidecar's server thread (pings, cancels) and the job's own JavaScript
 *   (schedulers, PNG encoding) from waiting behind ONNX Runtime's spinning pool;
 * - on the 2-core VMs it gives 1 thread, which measured faster than 2 for the small models (2 threads
 *   cost twice the CPU for no wall-time gain: docs/BENCHMARKS.md);
 * - on a 16-core host it gives 15, for the large models' convolutions and MatMuls, which split well
 *   across threads (not measured in this project yet); under CUDA the CPU pool only runs the few ops
 *   left on the CPU, so the count matters little there.
 * The rest are the settings measured best on this project's machines: all graph optimisations,
 * sequential execution (one operator at a time; the threads go into each operator), CPU arena on.
 */
import { availableParallelism } from 'node:os';
import type * as ort from 'onnxruntime-node';

export interface SessionRequest {
  /** e.g. ['cuda', 'cpu'] or ['cpu'] (the default); runtime/providers.ts decides it once at start. */
  executionProviders?: readonly string[];
  /** Threads for one operator; undefined = intraOpThreads(). */
  intraOpNumThreads?: number;
}

/** DIFFUSION_STUDIO_THREADS if set to a positive integer, else all cores but one (at least one). */
export function intraOpThreads(): number {
  const env = Number(process.env.DIFFUSION_STUDIO_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, availableParallelism() - 1);
}

export function sessionOptions(req: SessionRequest = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [...(req.executionProviders ?? ['cpu'])],
    intraOpNumThreads: req.intraOpNumThreads ?? intraOpThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
  };
}

/** What tells two sessions of the same file apart. */
export function optionsKey(o: ort.InferenceSession.SessionOptions): string {
  return JSON.stringify([o.executionProviders, o.intraOpNumThreads ?? null]);
}
