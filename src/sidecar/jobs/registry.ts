/**
 * The job registry: which handler runs each job kind. Adding a kind = its handler file in this folder
 * + one line in JOBS (its params schema lives in protocol/jobs.ts). A kind without a handler is refused
 * with `not_available`, and hello's capabilities say so (availableKinds), both read from the same table.
 *
 * Handlers import contract.ts, never this file: the registry sits above them.
 */
import { JOB_KINDS, SidecarError, type JobKind, type JobOutput, type JobParamsMap } from '../../protocol';
import { inputImages, type JobContext, type JobHandler } from './contract';
import { distillHandler } from './distill';
import { editHandler } from './edit';
import { toSidecarError } from './errors';
import { generateHandler } from './generate';
import { xyplotHandler } from './xyplot';

export type JobRegistry = { readonly [K in JobKind]?: JobHandler<K> };

/** One line per kind. */
export const JOBS: JobRegistry = {
  generate: generateHandler,
  edit: editHandler,
  distill: distillHandler,
  xyplot: xyplotHandler,
};

/** For hello's capabilities: a kind is available exactly when the registry holds its handler. */
export function availableKinds(registry: JobRegistry = JOBS): Record<JobKind, boolean> {
  return Object.fromEntries(JOB_KINDS.map((kind) => [kind, registry[kind] !== undefined])) as Record<JobKind, boolean>;
}

/** The handler of `kind`, or not_available naming the kind. */
export function handlerFor<K extends JobKind>(kind: K, registry: JobRegistry = JOBS): JobHandler<K> {
  const handler = registry[kind] as JobHandler<K> | undefined;
  if (!handler) throw new SidecarError('not_available', `this sidecar cannot run ${kind} jobs: its pipeline is not part of this build`);
  return handler;
}

/**
 * Runs one job to its end: the output, or a SidecarError carrying the protocol code (errors.ts maps
 * whatever the handler threw; a cancel requested before the end wins over success).
 */
export async function runJob<K extends JobKind>(kind: K, params: JobParamsMap[K], ctx: JobContext, registry: JobRegistry = JOBS): Promise<JobOutput> {
  try {
    const output = await handlerFor(kind, registry)(params, ctx);
    if (ctx.isCancelled()) throw ctx.cancelled();
    return output;
  } catch (err) {
    throw toSidecarError(err, { cancel: ctx, images: inputImages(params) });
  }
}
