/**
 * Reading one file of a model folder so that what is wrong with it is said in its own words: a
 * symbolic link that leads nowhere (a loop, or a missing target) is not "missing", and an empty file
 * is not "invalid JSON". Every problem is a ModelFolderError naming the file.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ModelFolderError } from './errors';

/** Whether `path` exists; a link that cannot be followed is an error, not an absence. */
export function modelFileExists(path: string): boolean {
  let target;
  try {
    target = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new ModelFolderError(path, 'is a symbolic link that leads nowhere (a loop)');
    throw new ModelFolderError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (target) return true;
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new ModelFolderError(path, `is a symbolic link to ${readlinkSync(path)}, which does not exist`);
  }
  return false;
}

/** The file's text; missing, unfollowable and empty files are refused by name. */
export function readModelText(path: string): string {
  if (!modelFileExists(path)) throw new ModelFolderError(path, 'is missing');
  if (statSync(path).size === 0) throw new ModelFolderError(path, 'is empty (0 bytes)');
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelFolderError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The file's JSON object; `is not valid JSON` or `must hold a JSON object` otherwise. */
export function readModelJson(path: string): Record<string, unknown> {
  const text = readModelText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelFolderError(path, `is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ModelFolderError(path, 'must hold a JSON object');
  return value as Record<string, unknown>;
}

/**
 * The files of an ONNX component: its graph file and every other file beside it but the .json, .md and
 * .txt ones, sorted. The weights may sit in the graph, in model.onnx_data (optimum's exports, this
 * project's), in weights.pb (diffusers' own conversion script) or in one file per tensor; the folder
 * holds them all. The listing is kept per folder until the folder's modification time changes (a file
 * added, removed or renamed), so a session look-up pays one stat, not a directory read.
 */
export function componentFiles(graphPath: string): string[] {
  const dir = dirname(graphPath);
  const mtime = statSync(dir, { throwIfNoEntry: false })?.mtimeMs;
  if (mtime === undefined) return [graphPath];
  const key = `${graphPath}\0${mtime}`;
  let files = listings.get(dir);
  if (files?.key !== key) {
    const own = basename(graphPath);
    const names = readdirSync(dir).filter((f) => f !== own && !/\.(json|md|txt)$/i.test(f) && statSync(join(dir, f), { throwIfNoEntry: false })?.isFile());
    files = { key, paths: [graphPath, ...names.sort().map((f) => join(dir, f))] };
    listings.set(dir, files);
  }
  return files.paths;
}

const listings = new Map<string, { key: string; paths: string[] }>();

/** The bytes of an ONNX component's files (componentFiles): about what a session of it holds in memory. 0 when unreadable. */
export function componentBytes(graphPath: string): number {
  try {
    return componentFiles(graphPath).reduce((n, f) => n + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
  } catch {
    return 0;
  }
}
