/**
 * Job outputs are written into a hidden staging folder beside the output folder and moved to their
 * final names (never over an existing file) only when the job succeeds, so a crash, a kill or a cancel
 * can never leave a partial image under a final name. Shared by the generate and edit jobs.
 */
import { readdir, rm, unlink } from 'node:fs/promises';
import { makeFolders } from '../io/folders';
import { basename, join, resolve } from 'node:path';
import { SidecarError } from '../../protocol';
import { linkExclusive } from '../io/outputs';

/**
 * Runs `job` with a fresh staging folder inside `outputDir` (default ./outputs) and removes the folder
 * afterwards, whatever happened; staging folders left by dead sidecars are swept first.
 */
export async function withStaging<T>(outputDir: string | undefined, jobId: string, job: (staging: string, outDir: string) => Promise<T>): Promise<T> {
  const outDir = resolve(outputDir ?? 'outputs');
  const staging = join(outDir, `.partial-${process.pid}-${jobId}`);
  await sweepStaging(outDir);
  await makeFolders(staging);
  try {
    return await job(staging, outDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Moves a finished file from staging to `dir` under its own name, or a numbered variant when taken.
 * link() fails with EEXIST instead of replacing, so nothing the user has is ever overwritten.
 */
export async function publish(file: string, dir: string): Promise<string> {
  let target: string;
  try {
    target = linkExclusive(file, join(dir, basename(file)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw err;
    throw new SidecarError('io_error', `no free file name for ${basename(file)} in ${dir}`);
  }
  await unlink(file);
  return target;
}

/**
 * Publishes `files` in order and returns their final names. When one cannot be published, the ones
 * before it are already the user's results under their final names: they are kept, and the error names
 * them (and those not published), so the user knows what exists and the job's failure hides nothing.
 */
export async function publishAll(files: readonly string[], dir: string): Promise<string[]> {
  const published: string[] = [];
  for (const file of files) {
    try {
      published.push(await publish(file, dir));
    } catch (err) {
      throw partialPublish(err, file, dir, published, files.slice(published.length));
    }
  }
  return published;
}

function partialPublish(err: unknown, file: string, dir: string, published: string[], left: readonly string[]): SidecarError {
  const why = err instanceof Error ? err.message : String(err);
  const kept = published.length ? `already published and kept: ${published.join(', ')}` : 'nothing was published';
  return new SidecarError('io_error', `publishing ${basename(file)} into ${dir} failed (${why}); ${kept}; not published: ${left.map((f) => basename(f)).join(', ')}`);
}

/** Removes staging folders left by sidecars that died mid-job (their pid is in the name). */
export async function sweepStaging(outDir: string): Promise<void> {
  const names = await readdir(outDir).catch(() => [] as string[]);
  for (const n of names) {
    const pid = Number(/^\.partial-(\d+)-/.exec(n)?.[1]);
    if (pid && !alive(pid)) await rm(join(outDir, n), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
