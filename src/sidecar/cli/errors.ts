/**
 * An error meant for the person at the terminal: its message is printed as is, without a stack trace,
 * and the process exits with `exitCode`. Anything else that escapes a command is a bug and is printed
 * with its stack.
 */
import { isUnexpected, toSidecarError } from '../jobs/errors';

export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * Whatever a command threw, as the sidecar would report it (jobs/errors.ts): a problem the user can
 * fix becomes a UserError with that message (exit 1 for their disk or permissions, 2 for their input);
 * a bug stays as it is, to be printed with its stack.
 */
export function asUserError(err: unknown): unknown {
  if (err instanceof UserError) return err;
  const { code, message } = toSidecarError(err);
  if (isUnexpected(code)) return err;
  return new UserError(message, code === 'io_error' ? 1 : 2);
}
