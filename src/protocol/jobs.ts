/**
 * The job kinds, their states and what a finished job returns. Each kind's parameters are in params.ts
 * (generate, edit, distill) and xyplot.ts.
 */
import { z } from 'zod';
import { DistillParams, EditParams, GenerateParams } from './params';
import { XYPlotParams } from './xyplot';

export const JOB_KINDS = ['generate', 'edit', 'distill', 'xyplot'] as const;
export const JobKind = z.enum(JOB_KINDS);
export type JobKind = z.infer<typeof JobKind>;

/** Interactive work (generate, edit, xyplot) runs before background work (distill) unless a client says otherwise. */
export const Priority = z.enum(['interactive', 'background']);
export type Priority = z.infer<typeof Priority>;

/** Parameters per job kind, for code that is generic over the kind. */
export interface JobParamsMap {
  generate: GenerateParams;
  edit: EditParams;
  distill: DistillParams;
  xyplot: XYPlotParams;
}
export const JOB_PARAMS = { generate: GenerateParams, edit: EditParams, distill: DistillParams, xyplot: XYPlotParams } as const;

export const JobState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;

/** One file a job wrote (under its final name: files are renamed into place only when complete). */
export const OutputFile = z.object({
  path: z.string(),
  /** 'image' (PNG), 'model' (a model folder), 'checkpoint', 'other'. */
  kind: z.enum(['image', 'model', 'checkpoint', 'other']),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  /** Per-file parameters (seed, eta, ...). */
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type OutputFile = z.infer<typeof OutputFile>;

/**
 * Where a job's time went on the sidecar, in milliseconds (docs/SIDECAR.md, "Timings"). Each part is
 * measured where it happens; jobPathMs is what is left of serverMs: the request's validation, the queue,
 * the messages between the server thread and the job thread, the events. A client's own request ->
 * result time minus serverMs is the WebSocket and JSON on both ends. Parts a job kind does not measure
 * are absent (only generate measures them all).
 */
export const JobTimings = z.object({
  /** From the request's arrival at the sidecar to its result being sent (set by the server, not the handler). */
  serverMs: z.number().optional(),
  /** Inside ONNX Runtime runs. */
  ortMs: z.number().optional(),
  /** Opening the model's sessions: their creation when not yet open, cache look-ups after. */
  loadMs: z.number().optional(),
  /** The pipeline's own work outside ONNX Runtime: model look-up, tokenising, latents, scheduler, guidance, previews. */
  pipelineMs: z.number().optional(),
  /** Encoding the result PNGs. */
  pngMs: z.number().optional(),
  /** Files: writing the staged PNGs, the staging itself and the exclusive publish. */
  filesMs: z.number().optional(),
  /** serverMs minus the parts above. */
  jobPathMs: z.number().optional(),
});
export type JobTimings = z.infer<typeof JobTimings>;

/** What a job handler returns and the `result` event carries. */
export const JobOutput = z.object({
  files: z.array(OutputFile),
  /** Job-level facts: parameters used, timings, execution provider ... */
  metadata: z.record(z.string(), z.unknown()),
  /** The time breakdown (in the result event; a jobStatus record has the handler's parts only). */
  timings: JobTimings.optional(),
});
export type JobOutput = z.infer<typeof JobOutput>;

export const JobInfo = z.object({
  jobId: z.string(),
  kind: JobKind,
  state: JobState,
  priority: Priority,
  /** What the job is about, for lists of jobs: the prompt (generate, edit, xyplot) or the teacher (distill). */
  label: z.string().optional(),
  /** Place in the queue (0 = next) while queued. */
  position: z.number().int().optional(),
  /** Last progress seen, while running. */
  stage: z.string().optional(),
  step: z.number().int().optional(),
  total: z.number().int().optional(),
  createdAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  output: JobOutput.optional(),
});
export type JobInfo = z.infer<typeof JobInfo>;
