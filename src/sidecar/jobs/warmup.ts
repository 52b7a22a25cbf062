/**
 * Warming a model up before its first request (the `warmup` request, `serve --preload`): the first
 * image of a model pays for creating its ONNX Runtime sessions, ONNX Runtime's first run of each
 * (memory arena, kernel choices), reading its tokenizer and compiling the pipeline's JavaScript. One
 * 1-step image at the model's own size and guidance, written nowhere, pays all of it ahead of time.
 */
import { textToImage } from '../pipelines/text-to-image';
import type { JobContext } from './contract';

/** Warms the model folder `dir` up; resolves with the milliseconds it took. Errors as a job's (errors.ts). */
export async function warmModel(dir: string, ctx: Pick<JobContext, 'executionProviders' | 'intraOpNumThreads'>): Promise<number> {
  const t0 = performance.now();
  await textToImage(
    { model: dir, prompt: '', steps: 1, count: 1, seed: 0 },
    { executionProviders: ctx.executionProviders, intraOpNumThreads: ctx.intraOpNumThreads, writeImage: (path) => path },
  );
  return performance.now() - t0;
}
