/**
 * Warming a model up before its first request (the `warmup` request, `serve --preload`): the first
 * image of a model pays for creating its ONNX Runtime sessions, ONNX Runtime's first run of each
 * (memory arena, kernel choices), reading its tokenizer and compiling the job's JavaScript (pipeline,
 * staging, publishing). A generate job of one 4-step image at the model's own size and guidance, into a
 * private temporary folder removed afterwards, pays all of that ahead of time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarError } from '../../protocol';
import type { JobContext } from './contract';
import { generateHandler } from './generate';

/** Warms the model folder `dir` up; resolves with the milliseconds it took. Errors as a job's (errors.ts). */
export async function warmModel(dir: string, ctx: Pick<JobContext, 'executionProviders' | 'intraOpNumThreads'>): Promise<number> {
  const t0 = performance.now();
  const out = mkdtempSync(join(tmpdir(), 'diffusion-studio-warmup-'));
  try {
    await generateHandler({ model: dir, prompt: '', steps: 4, count: 1, seed: 0, outputDir: out }, {
      ...ctx,
      jobId: 'warmup',
      isCancelled: () => false,
      cancelled: () => new SidecarError('cancelled', 'the warm-up was cancelled'),
      onProgress: () => undefined,
      log: () => undefined,
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return performance.now() - t0;
}
