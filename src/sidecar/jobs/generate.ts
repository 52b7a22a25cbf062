/**
 * The `generate` job: the text-to-image pipeline (pipelines/text-to-image.ts) run inside the worker,
 * its images staged and published by staging.ts (StagedImages).
 */
import type { GenerateParams, JobOutput, JobTimings, OutputFile } from '../../protocol';
import { textToImage, type PipelineTimings } from '../pipelines/text-to-image';
import type { JobContext, JobHandler } from './contract';
import { withStagedImages } from './staging';

/**
 * Previews may take this share of a job's denoising time (issue 20: at most 5% of a 20-step job); a
 * preview previewEvery asks for beyond it is skipped. Long steps (large models) still get every one.
 */
export const PREVIEW_BUDGET = 0.04;

export const generateHandler: JobHandler<'generate'> = async (params, ctx) => {
  const t0 = performance.now();
  const output = await withStagedImages(params.outputDir, ctx.jobId, async (stage) => {
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
        out: stage.out,
        initImage: params.initImage,
        strength: params.strength,
        previewEvery: params.previewEvery,
      },
      {
        isCancelled: ctx.isCancelled,
        onProgress: progressReporter(params, ctx),
        executionProviders: ctx.executionProviders,
        intraOpNumThreads: ctx.intraOpNumThreads,
        writeImage: stage.write,
        previewBudget: PREVIEW_BUDGET,
      },
    );
    // No 'save' stage: publishing is a link and an unlink per image, too short to show.
    if (ctx.isCancelled()) throw ctx.cancelled();
    const paths = stage.publish();
    return { files: paths.map((path, k): OutputFile => {
      const m = r.metadata[k];
      return { path, kind: 'image', width: m.width, height: m.height, metadata: { ...m } };
    }), shared: r.metadata[0] ?? {}, pipeline: r.timings };
  });
  const handlerMs = performance.now() - t0;
  // Job-level metadata: what all images share (each file carries its own seed).
  const { seed: _seed, ...shared } = output.shared;
  const metadata: JobOutput['metadata'] = {
    ...shared,
    count: output.files.length,
    executionProviders: ctx.executionProviders,
    totalMs: Math.round(handlerMs),
    ortMs: Math.round(output.pipeline.ortMs),
  };
  return { files: output.files, metadata, timings: handlerTimings(output.pipeline, handlerMs) };
};

/**
 * The handler's share of the job's time breakdown (the queue adds serverMs and jobPathMs): the
 * pipeline's parts, and everything else the handler did (staging, publishing) counted as files.
 */
function handlerTimings(p: PipelineTimings, handlerMs: number): JobTimings {
  return {
    ortMs: p.ortMs,
    loadMs: p.loadMs,
    pipelineMs: p.totalMs - p.ortMs - p.loadMs - p.pngMs - p.writeMs,
    pngMs: p.pngMs,
    filesMs: handlerMs - p.totalMs + p.writeMs,
  };
}

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
