/**
 * Writing results without ever overwriting a file: every final name is claimed exclusively (link(2)
 * fails on an existing name), and a taken name gets a number (`name-1.png`, `name-2.png`, ...). Checking
 * first and then writing would race with another process; the exclusive claim cannot.
 */
import { constants, copyFileSync, linkSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { makeFoldersSync } from './folders';

/** Where a pipeline's finished image goes: `data` meant for `path`; returns the file written. */
export type ImageWriter = (path: string, data: Buffer) => string;

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
 *
 * Where the file system has no hard links (exFAT/FAT, many network shares) or `src` is on another
 * device, the name is claimed by an exclusive create instead (copy with COPYFILE_EXCL: it fails on an
 * existing name, so it never overwrites either). Only a crash in the middle of that copy can leave a
 * partial file, under a name nobody had.
 */
export function linkExclusive(src: string, path: string): string {
  const ext = extname(path);
  const stem = path.slice(0, path.length - ext.length);
  let claim = claimByLink;
  for (let n = 0; n < 100000; n++) {
    // After the first clash, jump past the highest number already used (one readdir, not one try per file).
    if (n === 1) n = highestNumber(path) + 1;
    const candidate = n === 0 ? path : `${stem}-${n}${ext}`;
    try {
      claim(src, candidate);
      return candidate;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (claim === claimByLink && NO_HARD_LINKS.has(code)) {
        claim = claimByCopy;
        n--; // the same name again, claimed the other way
        continue;
      }
      if (code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`no free file name next to ${path}`);
}

/** What link(2) answers where hard links cannot be made (FAT: EPERM; other devices: EXDEV). */
const NO_HARD_LINKS = new Set(['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

function claimByLink(src: string, candidate: string): void {
  linkSync(src, candidate);
}

function claimByCopy(src: string, candidate: string): void {
  try {
    copyFileSync(src, candidate, constants.COPYFILE_EXCL);
  } catch (err) {
    // a copy that failed after creating the name (disk full) must not leave half an image behind
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(candidate, { force: true });
    throw err;
  }
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
