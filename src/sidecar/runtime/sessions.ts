/**
 * ONNX Runtime sessions for model files: created once per (file, options) and reused, because creating
 * a session (graph optimisation, weight loading) costs far more than a run. The execution-provider list
 * comes from the caller (providers.ts decides it once at start).
 *
 * Options: graphOptimizationLevel 'all', sequential execution, the CPU memory arena on (measured best
 * on this project's machines). intraOpNumThreads is left to ONNX Runtime (all cores) unless the caller
 * or DIFFUSION_STUDIO_THREADS sets it: on a busy 2-core VM one thread was faster for tiny models, which
 * says nothing about a user's 16-core machine.
 */
import { statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ModelFolderError } from '../io/errors';

export interface SessionRequest {
  /** e.g. ['cuda', 'cpu'] or ['cpu'] (the default). */
  executionProviders?: readonly string[];
  /** Threads for one operator; undefined = ONNX Runtime's default (or DIFFUSION_STUDIO_THREADS). */
  intraOpNumThreads?: number;
}

const cache = new Map<string, Promise<ort.InferenceSession>>();
/** Bumped by releaseSessions: anything holding sessions from an earlier epoch must get them again. */
let epoch = 0;

/** What tells sessions for the same file apart (options as resolved now), plus the release epoch. */
export function sessionCacheKey(req: SessionRequest): string {
  return optionsKey(options(req));
}

function optionsKey(o: ort.InferenceSession.SessionOptions): string {
  return JSON.stringify([o.executionProviders, o.intraOpNumThreads ?? null, epoch]);
}

function options(req: SessionRequest): ort.InferenceSession.SessionOptions {
  const envThreads = Number(process.env.DIFFUSION_STUDIO_THREADS);
  const threads = req.intraOpNumThreads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : undefined);
  return {
    executionProviders: [...(req.executionProviders ?? ['cpu'])],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    ...(threads ? { intraOpNumThreads: threads } : {}),
  };
}

/**
 * The session for `path`, created on first use. External weights (model.onnx_data) are found by ONNX
 * Runtime next to the file. Load failures name the file.
 */
export function getSession(path: string, req: SessionRequest = {}): Promise<ort.InferenceSession> {
  const opts = options(req);
  let stamp: string;
  try {
    const st = statSync(path);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    return Promise.reject(new ModelFolderError(path, 'is missing'));
  }
  const key = `${JSON.stringify([path, stamp])}${optionsKey(opts)}`;
  let s = cache.get(key);
  if (!s) {
    s = ort.InferenceSession.create(path, opts).catch((err: unknown) => {
      cache.delete(key);
      throw new ModelFolderError(path, `ONNX Runtime cannot load it: ${(err as Error).message}`);
    });
    cache.set(key, s);
  }
  return s;
}

/** Releases every cached session (frees native memory; the next getSession loads again). */
export async function releaseSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  epoch++;
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.release()));
}
