import type { Command } from 'commander';
import * as serve from './serve';
import * as gpuSetup from './gpu-setup';

/** Each subcommand module exports a `register(program)`; add new ones to this list. */
const modules: Array<{ register(program: Command): void }> = [serve, gpuSetup];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
