/**
 * `diffusion-studio`: the command line. Every subcommand lives in ./commands/ and registers itself on
 * the program; the extension's sidecar and this command line drive the same pipelines.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from './errors';
import { registerCommands } from './commands/index';

const program = new Command();
program
  .name('diffusion-studio')
  .description('Generate and edit images with diffusion models, and distill slow models into fast ones.')
  .version(process.env.DIFFUSION_STUDIO_VERSION ?? '0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode);
  }
  if (err instanceof UserError) {
    console.error(`diffusion-studio: ${err.message}`);
    process.exit(err.exitCode);
  }
  if (isSystemError(err)) {
    // A file the user named cannot be read or written (ENOENT, EACCES, ENOSPC ...): their environment,
    // not a bug, so the message without a stack trace.
    console.error(`diffusion-studio: ${err.message}`);
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
});

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
