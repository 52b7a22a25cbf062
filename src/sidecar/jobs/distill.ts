/**
 * The sidecar's `distill` job (protocol DistillParams) on top of runDistillation. Progress stage is
 * `<phase> <round>/<rounds>` with the step inside the round, the loss and steps/s as metrics; cancel
 * checkpoints, and the same request with resume: true continues. Each finished round is returned as a
 * `model` output. With samplesPerRound, each finished phase's student also draws a row of samples
 * (distillSamples.ts), sent as a `samples <round>/<rounds>` progress event.
 */
import type { DistillParams, JobOutput } from '../../protocol';
import { runDistillation } from '../pipelines/distill/job';
import { planPhases, resolveRequest, type DistillRequest } from '../pipelines/distill/plan';
import type { JobHandler } from './contract';
import { PhaseSampler } from './distillSamples';

/** DistillParams -> DistillRequest. guidanceRange holds diffusers scales s = 1 + w (docs/DISTILLATION.md). */
export function requestFromParams(p: DistillParams): DistillRequest {
  return {
    mode: p.method, teacher: p.teacher, out: p.outputDir,
    toSteps: p.studentSteps ?? 4, fromSteps: p.teacherSteps,
    iterations: p.iterationsPerRound, batchSize: p.batchSize, learningRate: p.learningRate,
    guidanceRange: p.guidanceRange, prompts: p.prompts, studentChannels: p.studentChannels, loraRank: p.loraRank, seed: p.seed, resume: p.resume,
  };
}

export const distillHandler: JobHandler<'distill'> = async (params, ctx) => {
  const t0 = Date.now();
  const request = requestFromParams(params);
  const sampler = params.samplesPerRound ? new PhaseSampler(params, ctx, planPhases(resolveRequest(request))) : undefined;
  let finished = 0;
  try {
    const r = await runDistillation(request, {
      isCancelled: ctx.isCancelled,
      threads: ctx.intraOpNumThreads,
      onLog: (m) => ctx.log('info', m),
      onProgress: (p) => {
        finished = p.round - 1;
        sampler?.onRound(p.round);
        ctx.onProgress({
          stage: `${p.phase} ${p.round}/${p.rounds}`, step: p.step, total: p.totalSteps, etaMs: p.etaSec * 1000,
          metrics: { loss: p.loss, stepsPerSec: p.stepsPerSec, studentSteps: p.studentSteps },
        });
      },
    });
    finished = r.students.length;
    const output: JobOutput = {
      files: r.students.map((s) => ({ path: s.dir, kind: 'model' as const, metadata: { steps: s.steps, phase: s.kind } })),
      metadata: { method: params.method, finalLoss: r.finalLoss, seconds: r.seconds, totalMs: Date.now() - t0 },
    };
    return output;
  } finally {
    // The job's end waits for its samples: a failed job still samples the phases it finished; a
    // cancelled one starts no more (the user asked it to stop) and one in flight stops at its next step.
    await sampler?.finish(finished);
  }
};
