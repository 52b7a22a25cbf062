/**
 * The one place where a thrown error becomes what a user reads: a protocol error code and a message.
 * The job worker maps whatever a handler throws through here, the server whatever resolving a model
 * throws, and the command line whatever a command throws (cli/errors.ts: a code a user can act on is
 * printed as a message, the rest as a bug with its stack).
 *
 * The rules are a table, first match wins; add a rule for a new error class rather than a try/catch
 * in a handler.
 */
import { resolve } from 'node:path';
import { SidecarError, type ErrorCode } from '../../protocol';
import { ModelFolderError } from '../io/errors';
import { ImageInputError } from '../io/prepare-image';
import { DistillCancelledError } from '../pipelines/distill/job';
import { DistillRequestError } from '../pipelines/distill/plan';
import { ImagicCancelledError } from '../pipelines/imagic/imagic';
import { GenerationCancelledError } from '../pipelines/text-to-image';
import { SchedulerConfigError } from '../schedulers/config';
import type { JobContext } from './contract';

export interface ErrorContext {
  /** A running job's cancel state: whatever it throws once a cancel was requested is the cancellation. */
  cancel?: Pick<JobContext, 'isCancelled' | 'cancelled'>;
  /** The input images the request named: a file problem with one of them is the image's, not the model's. */
  images?: readonly string[];
}

interface Rule {
  when(err: unknown, c: ErrorContext): boolean;
  then(err: Error, c: ErrorContext): SidecarError;
}

const RULES: Rule[] = [
  { when: (e) => e instanceof SidecarError, then: (e) => e as SidecarError },
  { when: (e, c) => isCancellation(e) || c.cancel?.isCancelled() === true, then: (e, c) => c.cancel?.cancelled() ?? new SidecarError('cancelled', e.message) },
  { when: (e) => e instanceof ImageInputError, then: (e) => new SidecarError('image_invalid', `image ${e.message}`) },
  { when: (e, c) => e instanceof ModelFolderError && isInputImage(e.path, c), then: (e) => new SidecarError('image_invalid', `image ${e.message}`) },
  { when: (e) => e instanceof ModelFolderError && missingExternalData(e) !== undefined, then: (e) => missingExternalDataError(e as ModelFolderError) },
  { when: (e) => e instanceof ModelFolderError, then: (e) => new SidecarError(modelCode(e.message), e.message) },
  { when: (e) => e instanceof SchedulerConfigError, then: (e) => new SidecarError('model_invalid', e.message) },
  { when: (e) => e instanceof RangeError || e instanceof DistillRequestError, then: (e) => new SidecarError('invalid_params', e.message) },
  { when: isSystemError, then: (e) => new SidecarError('io_error', e.message) },
];

/** Any thrown value -> a SidecarError; what no rule knows is `job_failed` with its message. */
export function toSidecarError(err: unknown, context: ErrorContext = {}): SidecarError {
  const rule = RULES.find((r) => r.when(err, context));
  const error = err instanceof Error ? err : new Error(String(err));
  return rule ? rule.then(error, context) : new SidecarError('job_failed', error.message);
}

/** The codes that mean "a bug or an unexpected failure" rather than a problem the user can fix. */
export function isUnexpected(code: ErrorCode): boolean {
  return code === 'job_failed' || code === 'internal';
}

/** Each pipeline's own "stopped because isCancelled() said so" error. */
function isCancellation(err: unknown): boolean {
  return err instanceof GenerationCancelledError || err instanceof ImagicCancelledError || err instanceof DistillCancelledError;
}

/** Absent things are model_not_found (the user points elsewhere); the rest model_invalid (the files are broken). */
function modelCode(message: string): ErrorCode {
  return /is missing|is not a folder|no such model/.test(message) ? 'model_not_found' : 'model_invalid';
}

/**
 * ONNX Runtime reports a missing external-data file (model.onnx_data) deep inside a message about the
 * model file, with its own source location; the user needs the name of the file that is missing.
 */
function missingExternalData(err: unknown): string | undefined {
  return /External data path does not exist: "([^"]+)"/.exec((err as Error).message)?.[1];
}

function missingExternalDataError(err: ModelFolderError): SidecarError {
  const data = missingExternalData(err)!;
  return new SidecarError('model_not_found', `${data}: is missing (${err.path} keeps its weights in it)`);
}

function isInputImage(path: string, c: ErrorContext): boolean {
  return c.images?.some((image) => resolve(image) === resolve(path)) ?? false;
}

/** A file the user named cannot be read or written (ENOENT, EACCES, ENOSPC, ...): their environment, not a bug. */
function isSystemError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return err instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
