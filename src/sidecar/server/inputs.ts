/**
 * Checks of input files that the sidecar makes before a job is queued, so a bad input fails at once with
 * a message naming the file and the problem, instead of deep inside a pipeline.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { SidecarError } from '../../protocol';
import { makeFolders } from '../io/folders';
import { Semaphore } from './semaphore';

export const IMAGE_LIMITS = {
  maxBytes: 100 * 1024 * 1024,
  /** Larger images would be resized down anyway; decoding them costs memory for nothing. */
  maxPixels: 8192 * 8192,
  minSide: 8,
  maxAspect: 16,
};

/**
 * How many images are decoded in full at once, across all clients. A full decode of the largest image
 * allowed (8192x8192 RGBA) holds 256 MiB, plus libvips' own buffers, and libvips already spreads one
 * decode over its threads: two at once keep the worst case near 0.5 GiB and the CPU busy, while more
 * would add memory, not speed. Others wait their turn (their requests are only slower to be accepted).
 */
export const IMAGE_DECODE_SLOTS = 2;
const decodeSlots = new Semaphore(IMAGE_DECODE_SLOTS);

/** Decodes now and at most at once so far, for tests and diagnostics. */
export function imageDecodes(): { active: number; peak: number; waiting: number } {
  return decodeSlots.stats();
}

export interface ImageFacts {
  width: number;
  height: number;
  format: string;
}

/** Reads the whole image (so truncation is caught), or throws image_invalid saying what is wrong. */
export async function checkImage(path: string): Promise<ImageFacts> {
  const bad = (why: string) => new SidecarError('image_invalid', `image ${path}: ${why}`);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw bad('no such file');
  if (!st.isFile()) throw bad('not a file');
  if (st.size === 0) throw bad('the file is empty (0 bytes)');
  if (st.size > IMAGE_LIMITS.maxBytes) throw bad(`the file is too large (${st.size} bytes; at most ${IMAGE_LIMITS.maxBytes})`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw bad(`not a readable image (${(err as Error).message})`);
  }
  const { width = 0, height = 0, format = 'unknown' } = meta;
  if (width * height > IMAGE_LIMITS.maxPixels) {
    throw bad(`${width}x${height} is too large (at most ${IMAGE_LIMITS.maxPixels} pixels)`);
  }
  if (Math.min(width, height) < IMAGE_LIMITS.minSide) {
    throw bad(`${width}x${height} is too small (each side at least ${IMAGE_LIMITS.minSide} pixels)`);
  }
  if (Math.max(width, height) / Math.min(width, height) > IMAGE_LIMITS.maxAspect) {
    throw bad(`${width}x${height} has an aspect ratio beyond ${IMAGE_LIMITS.maxAspect}:1`);
  }
  try {
    await decodeSlots.run(() => sharp(path, { failOn: 'truncated' }).raw().toBuffer());
  } catch (err) {
    throw bad(`the ${format} data is damaged or truncated (${(err as Error).message})`);
  }
  return { width, height, format };
}

/**
 * A folder found writable is not checked again for this long: back-to-back requests into the same
 * folder (the usual case) then cost no round trip through the thread pool (0.1-0.3 ms each on a loaded
 * 2-core machine). A folder removed meanwhile is made again by the job; one made read-only meanwhile
 * fails the job with io_error naming the file it could not write.
 */
export const OUTPUT_DIR_RECHECK_MS = 2000;
const writableSince = new Map<string, number>();

/** The output folder must be a folder we can write (created when missing); io_error otherwise. */
export async function checkOutputDir(path: string): Promise<void> {
  const checked = writableSince.get(path);
  if (checked !== undefined && performance.now() - checked < OUTPUT_DIR_RECHECK_MS) return;
  await checkOutputDirNow(path);
  if (writableSince.size > 1000) writableSince.clear(); // a bound over a long session
  writableSince.set(path, performance.now());
}

async function checkOutputDirNow(path: string): Promise<void> {
  // The usual case, an existing folder we may write, in one round trip through the thread pool (two
  // calls side by side) rather than four one after the other.
  const [st, writable] = await Promise.all([
    stat(path).catch(() => undefined),
    access(path, constants.W_OK).then(() => true, () => false),
  ]);
  if (st?.isDirectory() && writable) return;
  const bad = (why: string) => new SidecarError('io_error', `output folder ${path}: ${why}`);
  if (st && !st.isDirectory()) throw bad('exists and is not a folder');
  try {
    await makeFolders(path);
    await access(path, constants.W_OK);
  } catch (err) {
    throw bad(`cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
