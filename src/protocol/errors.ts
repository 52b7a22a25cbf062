/**
 * Typed error codes shared by the sidecar and its clients. Every failure a client can see carries one
 * of these codes and a message that names the problem in words a user understands.
 */
import { z } from 'zod';

export const ERROR_CODES = [
  /** The frame was not JSON, or not an object. */
  'bad_json',
  /** The message was JSON but did not match the schema of its `type` (the message names the field). */
  'invalid_message',
  /** The `type` is not one this sidecar knows. */
  'unknown_type',
  /** The client speaks a protocol version this sidecar does not. */
  'unsupported_version',
  /** Request fields were well formed but their values are unusable (NaN, out of range, ...). */
  'invalid_params',
  /** The model folder is missing, or a file it needs is missing. */
  'model_not_found',
  /** A model file exists but cannot be loaded (corrupt, wrong tensor names, wrong shapes). */
  'model_invalid',
  /** An input image is empty, truncated, not an image, too large or of an unusable size. */
  'image_invalid',
  /** The job id is not known to this sidecar. */
  'job_not_found',
  /** This kind of job exists in the protocol but its pipeline is not part of this build yet. */
  'not_available',
  /** The job was cancelled by a client (or by shutdown) before it finished. */
  'cancelled',
  /** The job started and failed; the message says why. */
  'job_failed',
  /** The queue is full; try again later. */
  'queue_full',
  /** The sidecar is shutting down and takes no new work. */
  'shutting_down',
  /** Writing the output failed (disk full, permissions, ...). */
  'io_error',
  /** The connection to the sidecar closed (it exited or crashed); raised by the client, never sent. */
  'connection_lost',
  /** No reply arrived in time; raised by the client, never sent. */
  'timeout',
  /** A bug in the sidecar; the message carries what is known. */
  'internal',
] as const;

export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The error a client sees: a typed code plus a human message (and, for jobs, the job id). */
export class SidecarError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly jobId?: string,
  ) {
    super(message);
    this.name = 'SidecarError';
  }
}
