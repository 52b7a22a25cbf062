/**
 * Writing results without ever overwriting a file: every final name is claimed exclusively (link(2)
 * fails on an existing name), and a taken name gets a number (`name-1.png`, `name-2.png`, ...). Checking
 * first and then writing would race with another process; the exclusive claim cannot.
 */
import { linkSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { makeFoldersSync } from './folders';

/**
 * Writes `data` at `path` or the first free numbered variant of it; returns the path written. The bytes
 * go to a hidden temporary file first and are then hard-linked under the final name: link() fails
 * when the name exists (exclusive, like 'wx') and is atomic, so a crash never leaves half an image under
 * a final name.
 */
export async function writeExclusive(path: string, data: Buffer): Promise<string> {
  return writeExclusiveSync(path, data);
}

/**
 * The same, synchronously: generation runs on a worker thread, where three small synchronous calls cost
 * less than three round trips through libuv's thread pool.
 */
export function writeExclusiveSync(path: string, data: Buffer): string {
  makeFoldersSync(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, data, { flag: 'wx' });
  try {
    return linkExclusive(tmp, path);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone: nothing to clean
    }
  }
}

/**
 * Hard-links the finished file `src` at `path` or the first free numbered variant of it; returns the
 * name claimed. `src` stays where it is (the caller removes it).
 */
export function linkExclusive(src: string, path: string): string {
  const ext = extname(path);
  const stem = path.slice(0, path.length - ext.length);
  for (let n = 0; n < 100000; n++) {
    // After the first clash, jump past the highest number already used (one readdir, not one try per file).
    if (n === 1) n = highestNumber(path) + 1;
    const candidate = n === 0 ? path : `${stem}-${n}${ext}`;
    try {
      linkSync(src, candidate);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`no free file name next to ${path}`);
}

/** The largest n among the files `<stem>-<n><ext>` next to `path` (0 when there are none). */
function highestNumber(path: string): number {
  const ext = extname(path);
  const stem = basename(path, ext);
  let max = 0;
  for (const name of readdirSync(dirname(path))) {
    if (!name.startsWith(`${stem}-`) || !name.endsWith(ext)) continue;
    const middle = name.slice(stem.length + 1, name.length - ext.length);
    if (/^\d+$/.test(middle)) max = Math.max(max, Number(middle));
  }
  return max;
}

/** A short file-name-safe version of a prompt: lowercase words joined by '-', at most 40 characters. */
export function slug(prompt: string): string {
  const s = prompt.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  return s || 'image';
}

/**
 * Where image k of a request goes: `out` ending in .png is a file name (numbered when taken or when
 * several images are made); anything else is a folder, where files are named <seed>-<prompt slug>.png.
 */
export function outputPath(out: string, prompt: string, seed: number, index: number, count: number): string {
  if (extname(out).toLowerCase() === '.png') {
    const abs = resolve(out);
    return count > 1 && index > 0 ? abs.replace(/\.png$/i, `-${index}.png`) : abs;
  }
  return join(resolve(out), `${seed}-${slug(prompt)}.png`);
}
