/**
 * The `generate` job: the text-to-image pipeline (pipelines/text-to-image.ts) run inside the worker,
 * its files staged and published by staging.ts.
 */
import type { GenerateParams, JobOutput, OutputFile } from '../../protocol';
import { textToImage } from '../pipelines/text-to-image';
import type { JobContext, JobHandler } from './contract';
import { publishAll, withStaging } from './staging';

export const generateHandler: JobHandler<'generate'> = (params, ctx) => withStaging(params.outputDir, ctx.jobId, async (staging, outDir) => {
  const t0 = Date.now();
  const r = await textToImage(
    {
      model: params.model,
      prompt: params.prompt,
      negativePrompt: params.negativePrompt,
      width: params.width,
      height: params.height,
      steps: params.steps,
      guidanceScale: params.guidanceScale,
      scheduler: params.scheduler,
      seed: params.seed,
      count: params.count,
      batchSize: params.batchSize,
      out: staging,
      initImage: params.initImage,
      strength: params.strength,
      previewEvery: params.previewEvery,
    },
    {
      isCancelled: ctx.isCancelled,
      onProgress: progressReporter(params, ctx),
      executionProviders: ctx.executionProviders,
      intraOpNumThreads: ctx.intraOpNumThreads,
    },
  );
  if (ctx.isCancelled()) throw ctx.cancelled();
  ctx.onProgress({ stage: 'save', step: 1, total: 1 });
  const paths = await publishAll(r.files, outDir);
  const files: OutputFile[] = paths.map((path, k) => {
    const m = r.metadata[k];
    return { path, kind: 'image', width: m.width, height: m.height, metadata: { ...m } };
  });
  // Job-level metadata: what all images share (each file carries its own seed).
  const { seed: _seed, ...shared } = r.metadata[0] ?? {};
  const metadata: JobOutput['metadata'] = {
    ...shared,
    count: files.length,
    executionProviders: ctx.executionProviders,
    totalMs: Date.now() - t0,
    ortMs: Math.round(r.timings.ortMs),
  };
  return { files, metadata };
});

/** Overall progress across batches: step counts every denoising step of every batch. */
function progressReporter(params: GenerateParams, ctx: JobContext) {
  const count = params.count ?? 1;
  const batch = params.batchSize ?? Math.min(count, 8);
  const batches = Math.ceil(count / batch);
  return (p: { image: number; step: number; totalSteps: number; preview?: Uint8Array }) => {
    const b = Math.floor(p.image / batch);
    ctx.onProgress({
      stage: 'denoise',
      step: b * p.totalSteps + p.step,
      total: batches * p.totalSteps,
      ...(p.preview ? { preview: p.preview } : {}),
    });
  };
}
