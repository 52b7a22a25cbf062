/**
 * Job outputs are written under hidden staging names in the output folder and moved to their final
 * names (never over an existing file) only when the job succeeds, so a crash, a kill or a cancel can
 * never leave a partial image under a final name. Two forms of the same rule:
 * - withStagedImages (generate): each PNG is written straight to a hidden file
 *   `.partial-<pid>-<jobId>-<n>.png` in the output folder and linked to its final name on success: one
 *   exclusive create, one link, one unlink per image, no folder to make and remove per job;
 * - withStaging (edit): a hidden folder `.partial-<pid>-<jobId>/` that the pipeline writes into as it
 *   likes, published file by file the same way and removed afterwards.
 *
 * Every file operation here is synchronous: jobs run on the worker thread, which has nothing else to
 * do meanwhile, and a handful of small synchronous calls cost far less than as many round trips
 * through libuv's thread pool (on the 2-core VMs each round trip cost 0.1-0.5 ms, more than the 4-step
 * student's UNet evaluations; docs/BENCHMARKS.md, "Latency").
 */
import { mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { makeFoldersSync } from '../io/folders';
import { basename, join, resolve } from 'node:path';
import { SidecarError } from '../../protocol';
import { linkExclusive } from '../io/outputs';

/** How often a folder is searched for staging left by dead sidecars (the first job in it always does). */
export const SWEEP_INTERVAL_MS = 60_000;
const lastSweep = new Map<string, number>();

/**
 * Runs `job` with a fresh staging folder inside `outputDir` (default ./outputs) and removes the folder
 * afterwards, whatever happened; staging left by dead sidecars is swept first (see sweepStaging).
 */
export async function withStaging<T>(outputDir: string | undefined, jobId: string, job: (staging: string, outDir: string) => Promise<T>): Promise<T> {
  const outDir = resolve(outputDir ?? 'outputs');
  const staging = join(outDir, `.partial-${process.pid}-${jobId}`);
  sweepStagingSometimes(outDir);
  makeFolder(staging);
  try {
    return await job(staging, outDir);
  } finally {
    removeStaging(staging);
  }
}

/**
 * A generate job's images until they are published: `write` is the pipeline's image writer (it stages
 * the PNG meant for `path` and returns the staged file), `publish` gives every staged image its final
 * name in order, `discard` removes what was not published.
 */
export class StagedImages {
  private readonly staged: { file: string; name: string }[] = [];

  /** `prefix`: the staged files' path without the image number, e.g. <outDir>/.partial-<pid>-<jobId>. */
  constructor(readonly outDir: string, private readonly prefix: string) {}

  /**
   * What to give the pipeline as its output folder: it only names the images (their final names are
   * the base names of the paths it writes to) and is never created. Not outDir itself, which a pipeline
   * would take for a file name if it ended in .png.
   */
  get out(): string {
    return this.prefix;
  }

  write = (path: string, data: Buffer): string => {
    const file = `${this.prefix}-${this.staged.length}.png`;
    try {
      writeFileSync(file, data, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      makeFoldersSync(this.outDir); // removed since the request was checked
      writeFileSync(file, data, { flag: 'wx' });
    }
    this.staged.push({ file, name: basename(path) });
    return file;
  };

  /** The final names, in the order the images were written (see publishAll for a failure midway). */
  publish(): string[] {
    const names = publishNamed(this.staged, this.outDir);
    this.staged.length = 0;
    return names;
  }

  discard(): void {
    for (const { file } of this.staged) rmSync(file, { force: true });
    this.staged.length = 0;
  }
}

/** Runs `job` with a StagedImages in `outputDir` (default ./outputs); what it leaves unpublished is removed. */
export async function withStagedImages<T>(outputDir: string | undefined, jobId: string, job: (stage: StagedImages) => Promise<T>): Promise<T> {
  const outDir = resolve(outputDir ?? 'outputs');
  sweepStagingSometimes(outDir);
  const stage = new StagedImages(outDir, join(outDir, `.partial-${process.pid}-${jobId}`));
  try {
    return await job(stage);
  } finally {
    stage.discard();
  }
}

/** One mkdir when the output folder exists (the usual case), mkdir -p otherwise. */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    makeFoldersSync(dir);
  }
}

/** A published job leaves its staging folder empty: one rmdir; a failed or cancelled one, a recursive remove. */
function removeStaging(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Moves a finished file from staging to `dir` under its own name, or a numbered variant when taken.
 * link() fails with EEXIST instead of replacing, so nothing the user has is ever overwritten.
 */
export function publish(file: string, dir: string, name = basename(file)): string {
  let target: string;
  try {
    target = linkExclusive(file, join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw err;
    throw new SidecarError('io_error', `no free file name for ${name} in ${dir}`);
  }
  unlinkSync(file);
  return target;
}

/**
 * Publishes `files` in order and returns their final names. When one cannot be published, the ones
 * before it are already the user's results under their final names: they are kept, and the error names
 * them (and those not published), so the user knows what exists and the job's failure hides nothing.
 */
export async function publishAll(files: readonly string[], dir: string): Promise<string[]> {
  return publishNamed(files.map((file) => ({ file, name: basename(file) })), dir);
}

function publishNamed(files: readonly { file: string; name: string }[], dir: string): string[] {
  const published: string[] = [];
  for (const { file, name } of files) {
    try {
      published.push(publish(file, dir, name));
    } catch (err) {
      throw partialPublish(err, name, dir, published, files.slice(published.length).map((f) => f.name));
    }
  }
  return published;
}

function partialPublish(err: unknown, name: string, dir: string, published: string[], left: readonly string[]): SidecarError {
  const why = err instanceof Error ? err.message : String(err);
  const kept = published.length ? `already published and kept: ${published.join(', ')}` : 'nothing was published';
  return new SidecarError('io_error', `publishing ${name} into ${dir} failed (${why}); ${kept}; not published: ${left.join(', ')}`);
}

/**
 * Removes staging folders left by sidecars that died mid-job (their pid is in the name). Listing a
 * folder of thousands of images costs milliseconds, so a folder is swept on its first job in this
 * process and then at most every SWEEP_INTERVAL_MS: leftovers are hidden and hold no final name, so
 * sweeping them a minute later changes nothing the user sees.
 */
function sweepStagingSometimes(outDir: string, now = Date.now()): void {
  const last = lastSweep.get(outDir);
  if (last !== undefined && now - last < SWEEP_INTERVAL_MS) return;
  if (lastSweep.size > 1000) lastSweep.clear(); // a bound: many folders over a long session
  lastSweep.set(outDir, now);
  sweepStaging(outDir);
}

export function sweepStaging(outDir: string): void {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return; // not there yet: nothing to sweep
  }
  for (const n of names) {
    const pid = Number(/^\.partial-(\d+)-/.exec(n)?.[1]);
    if (pid && !alive(pid)) rmSync(join(outDir, n), { recursive: true, force: true });
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
