/**
 * `diffusion-studio`: the command line. Every subcommand lives in ./commands/ and registers itself on
 * the program; the extension's sidecar and this command line drive the same pipelines.
 */
import { Command, CommanderError } from 'commander';
import { asUserError, UserError } from './errors';
import { registerCommands } from './commands/index';

const program = new Command();
program
  .name('diffusion-studio')
  .description('Generate and edit images with diffusion models, and distill slow models into fast ones.')
  .version(process.env.DIFFUSION_STUDIO_VERSION ?? '0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

program.parseAsync(process.argv).catch((thrown: unknown) => {
  if (thrown instanceof CommanderError) {
    process.exit(thrown.exitCode);
  }
  const err = asUserError(thrown);
  if (err instanceof UserError) {
    console.error(`diffusion-studio: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(1);
});
