import type { Command } from 'commander';
import * as serve from './serve';
import * as gpuSetup from './gpu-setup';
import * as grad from './grad';
import * as generate from './generate';
import * as models from './models';
import * as info from './info';
import * as evalCommand from './eval';
import * as edit from './edit';
import * as distill from './distill';

/** Each subcommand module exports a `register(program)`; add new ones to this list. */
const modules: Array<{ register(program: Command): void }> = [serve, gpuSetup, grad, generate, models, info, evalCommand, edit, distill];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
