/**
 * Values loaded from files (ONNX Runtime sessions, tokenizers), reused while those files are unchanged
 * and bounded by count and by bytes. The key is the files' path, size and modification time, so an
 * edited or replaced file is loaded again and the value read from its old content is disposed at once
 * (not left to age out). Least recently used values go first when a bound is exceeded; `dispose` frees
 * whatever an evicted value holds (native session memory).
 */
import { statSync } from 'node:fs';

export interface CacheLimits {
  /** Most values held at once. */
  maxEntries: number;
  /**
   * Most bytes of source files behind the held values (their sizes on disk, a proxy for the memory a
   * loaded model takes). A single value larger than this is still held, alone.
   */
  maxBytes: number;
}

/** The identity of a set of files now: path, size and mtime of each ('-' for a missing one). */
export interface FileStamp {
  stamp: string;
  bytes: number;
}

export function stampFiles(paths: readonly string[]): FileStamp {
  let bytes = 0;
  const parts = paths.map((p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return `${p}:-`;
    bytes += st.size;
    return `${p}:${st.size}:${st.mtimeMs}`;
  });
  return { stamp: parts.join('|'), bytes };
}

interface Entry<V> {
  id: string;
  stamp: string;
  bytes: number;
  value: V;
}

export class FileCache<V> {
  /** Map order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private heldBytes = 0;

  constructor(
    readonly limits: CacheLimits,
    private readonly dispose: (value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of source files behind the values held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * The value for `id` (the primary file's path) in `variant` (e.g. session options), loaded by `load`
   * when absent or when `files` changed since it was loaded.
   */
  get(id: string, variant: string, files: FileStamp, load: () => V): V {
    const key = `${id}\0${variant}`;
    const hit = this.entries.get(key);
    if (hit && hit.stamp === files.stamp) {
      this.entries.delete(key); // re-insert: now the most recently used
      this.entries.set(key, hit);
      return hit.value;
    }
    this.dropStale(id, files.stamp);
    const entry = { id, stamp: files.stamp, bytes: files.bytes, value: load() };
    this.entries.set(key, entry);
    this.heldBytes += entry.bytes;
    this.evictOverBounds(entry);
    return entry.value;
  }

  /** Disposes the value for (id, variant) now, if held and still `value`. */
  delete(id: string, variant: string, value?: V): void {
    const key = `${id}\0${variant}`;
    const e = this.entries.get(key);
    if (e && (value === undefined || e.value === value)) this.remove(key, e);
  }

  /** Disposes every value. */
  clear(): void {
    for (const [key, e] of [...this.entries]) this.remove(key, e);
  }

  /** Values loaded from an older version of `id`'s files (any variant) are of no further use. */
  private dropStale(id: string, stamp: string): void {
    for (const [key, e] of [...this.entries]) if (e.id === id && e.stamp !== stamp) this.remove(key, e);
  }

  private evictOverBounds(keep: Entry<V>): void {
    for (const [key, e] of [...this.entries]) {
      if (this.entries.size <= this.limits.maxEntries && this.heldBytes <= this.limits.maxBytes) return;
      if (e !== keep) this.remove(key, e);
    }
  }

  private remove(key: string, e: Entry<V>): void {
    this.entries.delete(key);
    this.heldBytes -= e.bytes;
    this.dispose(e.value);
  }
}
