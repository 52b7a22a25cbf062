import type { Command } from 'commander';
import * as serve from './serve';

/** Each subcommand module exports a `register(program)`; add new ones to this list. */
const modules: Array<{ register(program: Command): void }> = [serve];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
