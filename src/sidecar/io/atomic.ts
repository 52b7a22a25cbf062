/** Atomic file writes: what every checkpoint, model file and state file of the project goes through. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * One write(2) at most this long: Linux writes at most 0x7ffff000 bytes per call and Node refuses a
 * length above 2^31 - 1, so a tensor over 2 GiB (a Stable Diffusion UNet's optimiser state) goes in pieces.
 */
const WRITE_CHUNK = 1 << 30;

/** Writes all of `bytes` at the file's current position (write(2) may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) {
    done += writeSync(fd, bytes, done, Math.min(WRITE_CHUNK, bytes.byteLength - done));
  }
}

/**
 * Write to a temp file beside `path`, fsync, rename: a reader sees the old file or the new one, never
 * half. On failure the temp file is removed and the old file (if any) is left as it was. `chunks` may be
 * a generator: each chunk is written as soon as it is produced, so a file larger than memory (a
 * multi-GB checkpoint converted tensor by tensor) never has to exist whole in memory.
 */
export function writeAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const c of chunks) writeAll(fd, c);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
