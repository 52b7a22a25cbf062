/**
 * Where models are found: the embedded models shipped in the package's models/ folder, then folders
 * named with --models-dir, then those in the environment variable DIFFUSION_STUDIO_MODELS (a
 * path-delimiter-separated list). A root may itself be a model folder or hold model folders.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { ModelFolderError } from './errors';
import { loadModelFolder, type ModelFolder } from './model-folder';

/** The embedded model generation uses by default. */
export const DEFAULT_MODEL = 'emoji-styles';

const roots = new Map<string, string>();

/** The package root: the nearest folder above this file whose package.json is diffusion-studio's (memoised). */
export function packageRoot(from = __dirname): string {
  let root = roots.get(from);
  if (!root) roots.set(from, (root = findPackageRoot(from)));
  return root;
}

function findPackageRoot(from: string): string {
  for (let d = from; ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'diffusion-studio') return d;
    if (dirname(d) === d) return resolve(from, '..', '..', '..');
  }
}

export function embeddedModelsDir(): string {
  return join(packageRoot(), 'models');
}

export function modelRoots(extra: readonly string[] = [], env = process.env): string[] {
  const fromEnv = (env.DIFFUSION_STUDIO_MODELS ?? '').split(delimiter).filter(Boolean);
  return [embeddedModelsDir(), ...extra, ...fromEnv].map((p) => resolve(p));
}

export interface FoundModel {
  name: string;
  dir: string;
  /** The loaded folder, or why it could not be loaded (a listing shows broken folders too). */
  folder: ModelFolder | null;
  problem: string | null;
}

/** Every folder with a model_index.json directly in, or one level below, each root. */
export function discoverModels(roots: readonly string[]): FoundModel[] {
  const dirs: string[] = [];
  for (const root of roots) {
    if (!existsSync(root) || !statSync(root).isDirectory()) continue;
    if (existsSync(join(root, 'model_index.json'))) dirs.push(root);
    for (const name of readdirSync(root).sort()) {
      const d = join(root, name);
      if (existsSync(join(d, 'model_index.json'))) dirs.push(d);
    }
  }
  return [...new Set(dirs)].map((dir) => {
    try {
      const folder = loadModelFolder(dir);
      return { name: folder.name, dir, folder, problem: null };
    } catch (err) {
      return { name: dir.split(/[\\/]/).pop() ?? dir, dir, folder: null, problem: (err as Error).message };
    }
  });
}

/**
 * A model given by folder path or by name. Unknown names get an error listing what exists; the default
 * embedded model gets its own message while it has not been trained yet.
 */
export function resolveModel(nameOrDir: string, roots: readonly string[]): ModelFolder {
  const asPath = resolve(nameOrDir);
  if (existsSync(asPath) && statSync(asPath).isDirectory()) return loadModelFolder(asPath);
  // The usual case, <root>/<name>, without loading every other model of every root.
  for (const root of roots) {
    const dir = join(root, nameOrDir);
    if (!/[\\/]/.test(nameOrDir) && existsSync(join(dir, 'model_index.json'))) return loadModelFolder(dir);
  }
  const found = discoverModels(roots).filter((m) => m.name === nameOrDir);
  if (found.length > 0) {
    const ok = found.find((m) => m.folder);
    if (ok?.folder) return ok.folder;
    throw new ModelFolderError(found[0].dir, found[0].problem ?? 'cannot be loaded');
  }
  if (nameOrDir === DEFAULT_MODEL) {
    throw new ModelFolderError(
      join(embeddedModelsDir(), DEFAULT_MODEL),
      `the embedded model ${DEFAULT_MODEL} is not trained yet (the folder is missing); pass --model <folder> to use another model`,
    );
  }
  const names = discoverModels(roots).map((m) => m.name);
  throw new ModelFolderError(
    nameOrDir,
    `no such model folder or model name (known models: ${names.length ? names.join(', ') : 'none'}; searched ${roots.join(', ')})`,
  );
}
