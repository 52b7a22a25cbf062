/**
 * mkdir -p, one level at a time. Node 20's `mkdir(path, {recursive: true})` never returns for a path
 * under /proc (it retries ENOENT forever on a libuv thread), which an output folder typed by a user or
 * sent by a client could use to hang the process; plain mkdir calls fail cleanly.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function makeFolders(path: string): Promise<void> {
  const missing: string[] = [];
  for (let p = path; !(await stat(p).catch(() => undefined)); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const dir of missing.reverse()) await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
}

export function makeFoldersSync(path: string): void {
  const missing: string[] = [];
  for (let p = path; !statSync(p, { throwIfNoEntry: false }); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
