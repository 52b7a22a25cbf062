/**
 * The sidecar's `edit` job: protocol EditParams -> runImagic inside the worker. Files are written into
 * a hidden staging folder and published (never over an existing file) only when the job succeeds
 * (staging.ts, as for the generate job).
 * Progress carries the stage name ('prepare', 'embedding', 'finetune', 'sample', 'save') and, while
 * training, the loss as a metric.
 */
import type { EditParams, OutputFile } from '../../protocol';
import { runImagic, type ImagicRequest } from '../pipelines/imagic/imagic';
import type { JobHandler } from './contract';
import { publishAll, withStaging } from './staging';

export function imagicRequest(p: EditParams, out: string): ImagicRequest {
  return {
    model: p.model, image: p.image, prompt: p.prompt, etas: p.etas,
    embeddingSteps: p.embeddingSteps, finetuneSteps: p.finetuneSteps,
    embeddingLearningRate: p.embeddingLearningRate, finetuneLearningRate: p.finetuneLearningRate,
    steps: p.steps, guidanceScale: p.guidanceScale, seed: p.seed, out, previewEvery: p.previewEvery,
  };
}

export const editHandler: JobHandler<'edit'> = (params, ctx) => withStaging(params.outputDir, ctx.jobId, async (staging, outDir) => {
  const r = await runImagic(imagicRequest(params, staging), {
    executionProviders: ctx.executionProviders,
    isCancelled: ctx.isCancelled,
    onWarning: (message) => ctx.log('warn', message),
    onProgress: (p) => ctx.onProgress({
      stage: p.stage, step: p.step, total: p.total,
      ...(p.loss !== undefined ? { metrics: { loss: p.loss } } : {}),
      ...(p.preview ? { preview: p.preview } : {}),
    }),
  });
  if (ctx.isCancelled()) throw ctx.cancelled();
  // One publish for all, the contact sheet last, so a failure names every image already published.
  const paths = await publishAll(r.contactSheet ? [...r.files, r.contactSheet] : r.files, outDir);
  const files: OutputFile[] = r.files.map((_, k) => {
    const m = r.metadata[k];
    return { path: paths[k], kind: 'image', width: m.width, height: m.height, metadata: { ...m, eta: r.etas[k] } };
  });
  if (r.contactSheet) files.push({ path: paths[r.files.length], kind: 'image', metadata: { contactSheet: true, etas: r.etas } });
  return {
    files,
    metadata: {
      prompt: r.metadata[0]?.prompt, seed: r.metadata[0]?.seed, etas: r.etas, tune: r.train.tune,
      embeddingCached: r.train.embeddingCached, finetuneCached: r.train.finetuneCached,
      executionProviders: ctx.executionProviders, ...r.timings,
    },
  };
});
