/**
 * ONNX Runtime sessions for model files: the one cache every pipeline opens its models through.
 * Creating a session (graph optimisation, weight loading) costs far more than a run, so a session is
 * kept per (file, options) and reused, with three limits on what it holds:
 * - a bound on the number of sessions and on the bytes of their files (model.onnx plus its external
 *   data model.onnx_data); the least recently opened session goes first;
 * - a model whose files changed (path, size, mtime) gets a new session, and the old one is released;
 * - an evicted session is released (its native memory freed) as soon as no run is in flight on it.
 *
 * Callers get a handle (CachedSession): it keeps working after its session was evicted, by opening the
 * model again on its next run, so a bound set too low costs reloads, never a failed job. Its release()
 * gives the memory back now (the next run reopens). Options come from runtime/session-options.ts.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';
import { ModelFolderError } from '../io/errors';
import { FileCache, stampFiles, type CacheLimits } from '../io/file-cache';
import { componentFiles } from '../io/model-file';
import { optionsKey, sessionOptions, type SessionRequest } from './session-options';

export type { SessionRequest };

/**
 * 8 sessions: one job opens at most 6 (text encoder, UNet, VAE decoder and encoder, eval's image
 * encoder, a distillation teacher), so a job's sessions never evict each other and the previous
 * model's stay warm. 60% of RAM: weights take about their file size in memory on the CPU; the rest is
 * for activations, the arena, VS Code and the OS.
 */
export const DEFAULT_SESSION_LIMITS: CacheLimits = { maxEntries: 8, maxBytes: Math.floor(totalmem() * 0.6) };

/** How a session is made; the default is ONNX Runtime's (tests pass one that records the sessions). */
export type OpenSession = (path: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;

/** A loaded session and its runs in flight: an evicted session is released when its last run ends. */
interface Slot {
  session: ort.InferenceSession;
  running: number;
  evicted: boolean;
  /** The one handle given out for it, so every caller of get(path) holds the same object. */
  handle?: CachedSession;
}

function retire(slot: Slot): void {
  slot.evicted = true;
  if (slot.running === 0) void slot.session.release().catch(() => undefined);
}

export class SessionCache {
  private readonly cache: FileCache<Promise<Slot>>;

  constructor(
    limits: CacheLimits = DEFAULT_SESSION_LIMITS,
    private readonly open: OpenSession = (path, options) => ort.InferenceSession.create(path, options),
  ) {
    this.cache = new FileCache(limits, (slot) => void slot.then(retire, () => undefined));
  }

  get limits(): CacheLimits {
    return this.cache.limits;
  }

  /** Sessions held now. */
  get size(): number {
    return this.cache.size;
  }

  /** Bytes of the model files behind the sessions held now. */
  get bytes(): number {
    return this.cache.bytes;
  }

  /** The session for the model file `path`; load failures name the file. */
  async get(path: string, req: SessionRequest = {}): Promise<ort.InferenceSession> {
    const entry = this.entry(path, req);
    const slot = await entry;
    return (slot.handle ??= new CachedSession(this, path, req, entry, slot));
  }

  /** The cached slot for (path, options), loading it when absent or when the files changed. */
  entry(path: string, req: SessionRequest): Promise<Slot> {
    if (!existsSync(path)) return Promise.reject(new ModelFolderError(path, 'is missing'));
    const options = sessionOptions(req);
    const variant = optionsKey(options);
    const slot = this.cache.get(path, variant, stampFiles(componentFiles(path)), () => this.load(path, options));
    slot.catch(() => this.cache.delete(path, variant, slot)); // a failed load is not kept
    return slot;
  }

  /** Evicts (and so releases) `slot` if it is still the cached one for (path, options). */
  evict(path: string, req: SessionRequest, slot: Promise<Slot>): void {
    this.cache.delete(path, optionsKey(sessionOptions(req)), slot);
  }

  /** Releases every session (each handle reopens its model on its next run). */
  clear(): void {
    this.cache.clear();
  }

  private async load(path: string, options: ort.InferenceSession.SessionOptions): Promise<Slot> {
    try {
      return { session: await this.open(path, options), running: 0, evicted: false };
    } catch (err) {
      throw new ModelFolderError(path, `ONNX Runtime cannot load it: ${(err as Error).message}`);
    }
  }
}

type RunResult = Promise<ort.InferenceSession.ReturnType>;

/** A session from the cache, usable for as long as its holder likes (see the module comment). */
export class CachedSession implements ort.InferenceSession {
  // The same file gives the same names and metadata, so they are read once, from the first session.
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];

  constructor(
    private readonly owner: SessionCache,
    readonly path: string,
    private readonly req: SessionRequest,
    private entry: Promise<Slot>,
    private slot: Slot,
  ) {
    ({ inputNames: this.inputNames, outputNames: this.outputNames } = slot.session);
    ({ inputMetadata: this.inputMetadata, outputMetadata: this.outputMetadata } = slot.session);
  }

  run: ort.InferenceSession['run'] = async (...args: unknown[]): RunResult => {
    if (this.slot.evicted) {
      this.entry = this.owner.entry(this.path, this.req);
      this.slot = await this.entry;
      this.slot.handle ??= this;
    }
    const slot = this.slot;
    slot.running++;
    try {
      return await (slot.session.run as (...a: unknown[]) => RunResult).apply(slot.session, args);
    } finally {
      slot.running--;
      if (slot.evicted && slot.running === 0) void slot.session.release().catch(() => undefined);
    }
  };

  /** Frees the session's memory now; this handle (and any other) reopens the model on its next run. */
  async release(): Promise<void> {
    this.owner.evict(this.path, this.req, this.entry);
  }

  startProfiling(): void {
    this.slot.session.startProfiling();
  }

  endProfiling(): void {
    this.slot.session.endProfiling();
  }
}

/** The process's session cache (each worker thread has its own). */
export const sessionCache = new SessionCache();

/** The cached session for `path` (see SessionCache.get). */
export function getSession(path: string, req: SessionRequest = {}): Promise<ort.InferenceSession> {
  return sessionCache.get(path, req);
}

/** Releases every cached session (frees native memory; the next use loads again). */
export function releaseSessions(): void {
  sessionCache.clear();
}
