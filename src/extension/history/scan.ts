/**
 * The history of a workspace, read from its PNGs' own parameters (so images made on the command line,
 * or by another A1111-style tool, are part of it): no VS Code here (unit tests run it). The reader is the
 * protocol's one (readTextChunks + parseParameters).
 */
import { open, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { parseParameters, readTextChunks } from '../../protocol';

export interface HistoryEntry {
  path: string;
  mtimeMs: number;
  /** generate, edit (an Imagic result: `Imagic eta`) or vary (image-to-image: `Denoising strength`). */
  kind: 'generate' | 'edit' | 'vary';
  prompt: string;
  negativePrompt: string;
  fields: Record<string, string>;
  /** The `parameters` text as stored (what Copy copies). */
  text: string;
}

export interface ScanOptions {
  /** Folders not entered (besides dot-folders). */
  skip?: readonly string[];
  maxDepth?: number;
  /** At most this many PNGs are read, the newest first. */
  maxFiles?: number;
  /**
   * What earlier scans read, by path: a file whose mtime is unchanged is not read again (a rescan then
   * costs a directory walk). Updated by the scan; files no longer found leave it.
   */
  cache?: Map<string, CachedRead>;
}

/** One file as last read: its mtime, and its entry (undefined: a PNG without parameters). */
export interface CachedRead {
  mtimeMs: number;
  entry?: HistoryEntry;
}

const SKIP = ['node_modules', 'out', 'dist'];
/** The parameters chunk sits right after IHDR: the head of the file is enough. */
const HEAD_BYTES = 1 << 20;

/** Every PNG under `roots` that carries A1111 parameters, newest first. */
export async function scanHistory(roots: readonly string[], o: ScanOptions = {}): Promise<HistoryEntry[]> {
  const files: Array<{ path: string; mtimeMs: number }> = [];
  for (const r of roots) await walk(r, o.maxDepth ?? 8, new Set(o.skip ?? SKIP), files);
  files.sort((a, b) => b.mtimeMs - a.mtimeMs);
  const entries: HistoryEntry[] = [];
  const read = new Map<string, CachedRead>();
  for (const f of files.slice(0, o.maxFiles ?? 2000)) {
    const known = o.cache?.get(f.path);
    const e = known && known.mtimeMs === f.mtimeMs ? known.entry : await readEntry(f.path, f.mtimeMs);
    read.set(f.path, { mtimeMs: f.mtimeMs, entry: e });
    if (e) entries.push(e);
  }
  if (o.cache) {
    o.cache.clear();
    for (const [k, v] of read) o.cache.set(k, v);
  }
  return entries;
}

async function walk(dir: string, depth: number, skip: Set<string>, out: Array<{ path: string; mtimeMs: number }>): Promise<void> {
  let names;
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // gone or unreadable: not part of the history
  }
  for (const d of names) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) {
      if (depth > 0 && !d.name.startsWith('.') && !skip.has(d.name)) await walk(p, depth - 1, skip, out);
    } else if (d.isFile() && d.name.toLowerCase().endsWith('.png') && !d.name.startsWith('.')) {
      const s = await stat(p).catch(() => undefined);
      if (s) out.push({ path: p, mtimeMs: s.mtimeMs });
    }
  }
}

/** One PNG's entry, or undefined when it has no parameters (or is no PNG). */
export async function readEntry(file: string, mtimeMs: number): Promise<HistoryEntry | undefined> {
  let head: Buffer;
  try {
    const h = await open(file, 'r');
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await h.read(buf, 0, HEAD_BYTES, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await h.close();
    }
  } catch {
    return undefined;
  }
  let text: string | undefined;
  try {
    text = readTextChunks(head).parameters;
  } catch {
    return undefined; // not a PNG
  }
  if (text === undefined) return undefined;
  const p = parseParameters(text);
  const kind = p.fields['Imagic eta'] !== undefined ? 'edit' : p.fields['Denoising strength'] !== undefined ? 'vary' : 'generate';
  return { path: file, mtimeMs, kind, text, ...p };
}

/** The entries whose prompt (or negative prompt) holds every word of `query`, any case. */
export function searchHistory(entries: readonly HistoryEntry[], query: string): HistoryEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...entries];
  return entries.filter((e) => {
    const hay = `${e.prompt}\n${e.negativePrompt}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
