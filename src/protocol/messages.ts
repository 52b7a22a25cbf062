/**
 * The wire protocol between a client (the extension, the tests) and the sidecar: JSON text frames over
 * one WebSocket. Every frame carries `v` (PROTOCOL_VERSION) and `type`.
 *
 * Client -> sidecar: requests, each with a client-chosen `id`. The sidecar answers every request with
 * exactly one `reply` (same `id`) or one `error` (same `id`). Job requests (generate, edit, distill, xyplot) are
 * answered at once with `{jobId}`; the job then reports through events carrying that `jobId`:
 * `job` (state changes), `progress`, `log`, and finally exactly one of `result` or `error`.
 * Events go to the client that submitted the job; `job` state changes go to every client.
 *
 * See docs/SIDECAR.md for the reference with examples.
 */
import { z } from 'zod';
import { ErrorCode } from './errors';
import { JobInfo, JobOutput, Priority } from './jobs';
import { DistillParams, EditParams, GenerateParams, pathLike, WarmupParams } from './params';
import { XYPlotParams } from './xyplot';

export const PROTOCOL_VERSION = 1;
const v = z.literal(PROTOCOL_VERSION);
const id = z.string().min(1).max(128);
const jobId = z.string().min(1).max(128);

// ---------------------------------------------------------------- requests (client -> sidecar)

const req = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ v, id, type: z.literal(type), ...shape });

export const HelloRequest = req('hello', {
  client: z.strictObject({ name: z.string().max(200), version: z.string().max(100) }).optional(),
});
export const ListModelsRequest = req('listModels', {});
export const GenerateRequest = req('generate', { params: GenerateParams, priority: Priority.optional() });
export const EditRequest = req('edit', { params: EditParams, priority: Priority.optional() });
export const DistillRequest = req('distill', { params: DistillParams, priority: Priority.optional() });
/** One job: a generation varied along two settings, each cell's PNG plus one labelled grid (xyplot.ts). */
export const XYPlotRequest = req('xyplot', { params: XYPlotParams, priority: Priority.optional() });
export const CancelRequest = req('cancel', { jobId });
/** Without jobId: every job this sidecar knows (queued, running and the most recent finished ones). */
export const JobStatusRequest = req('jobStatus', { jobId: jobId.optional() });
export const PingRequest = req('ping', {});
/** Stops the sidecar: queued jobs are cancelled, the running one is cancelled, then it exits. */
export const ShutdownRequest = req('shutdown', {});
/**
 * Gets a model ready before its first generate request, so that it costs about what a later one does:
 * a generate request with `params` (the settings the first request will have; unset: the model's own)
 * runs through the whole job path (validation, queue, worker, staging and publishing, into a temporary
 * folder removed afterwards; its events go to no client), between jobs. A job submitted meanwhile makes
 * it stop at its next step. The reply comes when it is done.
 */
export const WarmupRequest = req('warmup', { model: pathLike, params: WarmupParams.optional() });

export const Request = z.discriminatedUnion('type', [
  HelloRequest,
  ListModelsRequest,
  GenerateRequest,
  EditRequest,
  DistillRequest,
  XYPlotRequest,
  CancelRequest,
  JobStatusRequest,
  PingRequest,
  ShutdownRequest,
  WarmupRequest,
]);
export type Request = z.infer<typeof Request>;
export type RequestType = Request['type'];
export const REQUEST_TYPES = Request.options.map((o) => o.shape.type.value) as RequestType[];

// ---------------------------------------------------------------- reply payloads
// Requests are strict (unknown keys refused: the sidecar trusts nothing); what the sidecar sends is read
// leniently (unknown keys dropped), so a newer sidecar may add fields without breaking older clients.

export const ModelInfo = z.object({
  /** Stable id (the folder name for embedded models) usable as `model` in requests. */
  id: z.string(),
  name: z.string(),
  /** Absolute path of the model folder. */
  path: z.string(),
  source: z.enum(['embedded', 'user']),
  /** Native resolution in pixels, when the model says. */
  resolution: z.number().int().optional(),
  /** For a distilled student: the number of sampling steps it was distilled for. */
  distilledSteps: z.number().int().optional(),
  /** For a guided-distilled student: the guidance scale is an input, within this range. */
  guidanceRange: z.tuple([z.number(), z.number()]).optional(),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const Capabilities = z.object({
  protocolVersion: z.number().int(),
  sidecarVersion: z.string(),
  /** The execution provider the jobs run on. */
  executionProvider: z.enum(['cpu', 'cuda']),
  /** E.g. "NVIDIA H100 80GB HBM3" or "CPU: AMD EPYC ... (2 threads)". */
  deviceName: z.string(),
  ortVersion: z.string(),
  /** Why the provider is what it is (e.g. "CUDA requested but its libraries did not load: ..."). */
  providerNote: z.string().optional(),
  /** Which job kinds this build can run (the others answer `not_available`). */
  jobKinds: z.record(z.string(), z.boolean()),
  models: z.array(ModelInfo),
  pid: z.number().int(),
});
export type Capabilities = z.infer<typeof Capabilities>;

/** The result payload of each request type (what `reply.result` holds). */
export const REPLY_RESULTS = {
  hello: Capabilities,
  listModels: z.object({ models: z.array(ModelInfo) }),
  generate: z.object({ jobId: z.string(), job: JobInfo }),
  edit: z.object({ jobId: z.string(), job: JobInfo }),
  distill: z.object({ jobId: z.string(), job: JobInfo }),
  xyplot: z.object({ jobId: z.string(), job: JobInfo }),
  /** `state` is the job's state after the cancel (a finished job stays finished). */
  cancel: z.object({ jobId: z.string(), state: JobInfo.shape.state }),
  jobStatus: z.object({ jobs: z.array(JobInfo) }),
  /** Sidecar wall clock and resident memory, for diagnostics. */
  ping: z.object({ time: z.number(), rss: z.number() }),
  shutdown: z.object({ cancelledJobs: z.number().int() }),
  /**
   * `model`: the folder warmed (a name resolved); `ms`: how long it took on the worker; `completed`:
   * false when a job arrived while it ran and it gave way (absent from sidecars before issue 20's);
   * `runs`: how many times the request went through (3 for a small model, 1 for a large one; fewer
   * when it gave way; absent from older sidecars).
   */
  warmup: z.object({ model: z.string(), ms: z.number(), completed: z.boolean().optional(), runs: z.number().int().optional() }),
} satisfies Record<RequestType, z.ZodType>;
export type ReplyResult<T extends RequestType> = z.infer<(typeof REPLY_RESULTS)[T]>;

// ---------------------------------------------------------------- messages (sidecar -> client)

export const Reply = z.object({
  v,
  type: z.literal('reply'),
  id,
  request: z.string(),
  result: z.unknown(),
});
export type Reply = z.infer<typeof Reply>;

/**
 * An error: the answer to a request (`id` set), or the end of a job (`jobId` set), or, for a frame
 * that had no usable id, neither. `field` names the offending field when validation failed.
 */
export const ErrorMessage = z.object({
  v,
  type: z.literal('error'),
  id: z.string().optional(),
  jobId: z.string().optional(),
  /** A code this client does not know (from a newer sidecar) reads as 'internal'; the message stays. */
  code: ErrorCode.catch('internal'),
  message: z.string(),
  field: z.string().optional(),
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;

export const ProgressEvent = z.object({
  v,
  type: z.literal('progress'),
  jobId: z.string(),
  /** E.g. 'load', 'encode', 'denoise', 'decode', 'save', 'embedding', 'finetune', 'round 2/6'. */
  stage: z.string(),
  step: z.number().int(),
  total: z.number().int(),
  /** Estimated milliseconds until the whole job ends, when known. */
  etaMs: z.number().optional(),
  /** A small PNG of the current state, base64. */
  preview: z.string().optional(),
  /** Stage-specific numbers (loss, learning rate ...). */
  metrics: z.record(z.string(), z.number()).optional(),
});
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export const ResultEvent = z.object({
  v,
  type: z.literal('result'),
  jobId: z.string(),
  ...JobOutput.shape,
});
export type ResultEvent = z.infer<typeof ResultEvent>;

export const LogEvent = z.object({
  v,
  type: z.literal('log'),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
  jobId: z.string().optional(),
});
export type LogEvent = z.infer<typeof LogEvent>;

/** A job changed state (queued, running, succeeded, failed, cancelled); sent to every client. */
export const JobEvent = z.object({ v, type: z.literal('job'), job: JobInfo });
export type JobEvent = z.infer<typeof JobEvent>;

export const ServerMessage = z.discriminatedUnion('type', [
  Reply,
  ErrorMessage,
  ProgressEvent,
  ResultEvent,
  LogEvent,
  JobEvent,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** The first line `diffusion-studio serve` prints on stdout (one JSON object). */
export const ServeBanner = z.object({
  event: z.literal('listening'),
  protocolVersion: z.number().int(),
  url: z.string(),
  host: z.string(),
  port: z.number().int(),
  tls: z.boolean(),
  pid: z.number().int(),
  executionProvider: z.enum(['cpu', 'cuda']),
  deviceName: z.string(),
  /** Present only when the sidecar generated its own secret (no --secret-file, no environment). */
  secret: z.string().optional(),
});
export type ServeBanner = z.infer<typeof ServeBanner>;

/** Request parameters as the client passes them (without v, id, type). */
export type RequestParams<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'v' | 'id' | 'type'>;
