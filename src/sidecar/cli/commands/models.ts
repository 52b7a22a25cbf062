/** `diffusion-studio models`: the models generation can find (embedded, --models-dir, $DIFFUSION_STUDIO_MODELS). */
import type { Command } from 'commander';
import { discoverModels, modelRoots, type FoundModel } from '../../io/model-discovery';
import { samplerLabel } from '../../../protocol/samplers';
import { DIFFUSERS_CLASSES } from '../../schedulers/index';

export function register(program: Command): void {
  program
    .command('models')
    .description('list the models that generate can use')
    .option('--models-dir <dir>', 'another folder of models (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--json', 'print the list as JSON')
    .action((opts: { modelsDir: string[]; json?: boolean }) => list(opts));
}

function describe(m: FoundModel): string {
  if (!m.folder) return `broken: ${m.problem}`;
  const f = m.folder;
  const parts = [f.base ? `student of ${f.base.name}` : 'full model'];
  if (f.distill?.steps) parts.push(`${f.distill.steps} step${f.distill.steps === 1 ? '' : 's'}`);
  if (f.distill?.guidance_range) parts.push(`guidance ${f.distill.guidance_range.join('-')}`);
  if (f.sampleSize && f.vaeScaleFactor) parts.push(`${f.sampleSize * f.vaeScaleFactor}px`);
  parts.push(f.schedulerConfig.prediction_type);
  // The model's own scheduler (its default sampler), and keys of its config no sampler here reads.
  const cls = f.schedulerConfig._class_name;
  if (cls) parts.push(DIFFUSERS_CLASSES[cls] ? `${samplerLabel(DIFFUSERS_CLASSES[cls])} (${cls})` : `${cls} (not implemented here: name a sampler)`);
  if (f.schedulerConfig.ignored_keys) parts.push(`scheduler_config.json keys not read: ${f.schedulerConfig.ignored_keys.join(', ')}`);
  return parts.join(', ');
}

function list(opts: { modelsDir: string[]; json?: boolean }): void {
  const roots = modelRoots(opts.modelsDir);
  const found = discoverModels(roots);
  if (opts.json) {
    const rows = found.map((m) => ({ name: m.name, dir: m.dir, ok: m.folder !== null, problem: m.problem, base: m.folder?.base?.dir ?? null, distill: m.folder?.distill ?? null }));
    console.log(JSON.stringify({ roots, models: rows }, null, 2));
    return;
  }
  if (found.length === 0) {
    console.log(`no models found (searched ${roots.join(', ')})`);
    return;
  }
  const width = Math.max(...found.map((m) => m.name.length));
  for (const m of found) console.log(`${m.name.padEnd(width)}  ${describe(m)}\n${' '.repeat(width)}  ${m.dir}`);
}
