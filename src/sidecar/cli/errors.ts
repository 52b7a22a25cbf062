/**
 * An error meant for the person at the terminal: its message is printed as is, without a stack trace,
 * and the process exits with `exitCode`. Anything else that escapes a command is a bug and is printed
 * with its stack.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}
