/**
 * The on-disk cache of Imagic's two trained stages, so that changing eta, the seed, the guidance or
 * the sampler re-samples in seconds without re-training:
 *
 *   <dir>/<key1>/embedding.safetensors           stage 1: e_target and e_opt
 *   <dir>/<key1>/<key2>/unet.safetensors         stage 2: the fine-tuned weights or LoRA adapters
 *
 * key1 = SHA-256 of (input file hash, prompt, UNet hash, text- and VAE-encoder fingerprints, size,
 * stage-1 settings); key2 adds the
 * stage-2 settings. Files are written atomically by io/safetensors (a crash or a cancel never
 * leaves half a file under a final name). Default folder: $DIFFUSION_STUDIO_CACHE/imagic, else
 * $XDG_CACHE_HOME/diffusion-studio/imagic, else ~/.cache/diffusion-studio/imagic.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeFoldersSync } from '../../io/folders';
import { readSafetensors, writeSafetensors } from '../../io/safetensors';
import type { TensorValue } from '../../graph/types';

export function defaultCacheDir(env = process.env): string {
  if (env.DIFFUSION_STUDIO_CACHE) return join(env.DIFFUSION_STUDIO_CACHE, 'imagic');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'diffusion-studio', 'imagic');
}

/**
 * A cheap identity for a model file that the cache key needs beside the UNet's hash (the text encoder
 * makes e_target, the VAE encoder makes x0): its size and SHA-256 of its first and last MiB, so a
 * multi-GB file is not read whole on every edit.
 */
export function fileFingerprint(path: string | null): string {
  if (!path || !existsSync(path)) return 'none';
  const size = statSync(path).size;
  const h = createHash('sha256').update(String(size));
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(Math.min(size, 1 << 20));
    for (const at of [0, Math.max(0, size - chunk.length)]) {
      readSync(fd, chunk, 0, chunk.length, at);
      h.update(chunk);
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex').slice(0, 16);
}

export function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export class StageCache {
  constructor(readonly dir: string) {}

  embeddingPath(key1: string): string {
    return join(this.dir, key1, 'embedding.safetensors');
  }

  unetPath(key1: string, key2: string): string {
    return join(this.dir, key1, key2, 'unet.safetensors');
  }

  /** The cached tensors at `path`, or null when absent or unreadable (a damaged entry is dropped and retrained). */
  read(path: string): Map<string, TensorValue> | null {
    if (!existsSync(path)) return null;
    try {
      return readSafetensors(path).tensors;
    } catch {
      rmSync(path, { force: true });
      return null;
    }
  }

  write(path: string, tensors: Map<string, TensorValue>): void {
    makeFoldersSync(dirname(path)); // one level at a time: Node's recursive mkdir hangs under /proc
    writeSafetensors(path, tensors, { format: 'diffusion-studio-imagic-1' });
  }
}
