/** `diffusion-studio info <png>`: the generation parameters stored in a PNG (A1111 `parameters` chunk). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseParameters, readTextChunks } from '../../io/png-metadata';
import { UserError } from '../errors';

export function register(program: Command): void {
  program
    .command('info')
    .description('print the generation parameters stored in a PNG')
    .argument('<png>', 'a PNG written by generate (or by AUTOMATIC1111 and compatible tools)')
    .option('--json', 'print prompt, negative prompt and fields as JSON')
    .action((file: string, opts: { json?: boolean }) => info(file, opts));
}

function info(file: string, opts: { json?: boolean }): void {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let chunks: Record<string, string>;
  try {
    chunks = readTextChunks(bytes);
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message}`);
  }
  const text = chunks.parameters;
  if (text === undefined) throw new UserError(`${file}: has no "parameters" text chunk (not written by a generator that records one)`);
  console.log(opts.json ? JSON.stringify(parseParameters(text), null, 2) : text);
}
