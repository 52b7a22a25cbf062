/**
 * SidecarClient: the one WebSocket client of the sidecar, used by the extension and by the tests.
 *
 *   const client = await SidecarClient.connect({ url, secret });
 *   const caps = await client.hello();
 *   const job = await client.generate({ model: 'emoji-base', prompt: 'a cat' }, { onProgress });
 *   const result = await job.done;          // rejects with SidecarError (code 'cancelled', ...)
 *
 * A dead sidecar is noticed at once: the socket's close (the OS closes it when the process dies) or a
 * missed heartbeat rejects every pending request and every unfinished job with `connection_lost`.
 */
import { EventEmitter } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import WebSocket, { type ClientOptions } from 'ws';
import { SidecarError } from './errors';
import { pinnedTls } from './pinning';
import type { JobInfo, JobKind, JobParamsMap, Priority } from './jobs';
import type { WarmupParams } from './params';
import {
  PROTOCOL_VERSION,
  REPLY_RESULTS,
  ServerMessage,
  type JobEvent,
  type LogEvent,
  type ProgressEvent,
  type ReplyResult,
  type RequestParams,
  type RequestType,
  type ResultEvent,
} from './messages';

export interface SidecarClientOptions {
  /** ws://127.0.0.1:PORT or wss://HOST:PORT, as printed by `diffusion-studio serve`. */
  url: string;
  /** The per-launch secret; sent as `Authorization: Bearer <secret>`. */
  secret: string;
  /** For wss with a self-signed certificate: the certificate (PEM) to trust. */
  ca?: string | Buffer;
  /**
   * For wss: trust exactly the certificate with this SHA-256 fingerprint (hex, colons optional), whatever
   * its name or issuer; checked before anything is sent (see pinning.ts).
   */
  certificateSha256?: string;
  /** Give up on a reply after this long (default 30 s). Job results are not bounded by it. */
  requestTimeoutMs?: number;
  /** WebSocket ping interval; a missing pong by the next ping closes the connection (default 2 s). */
  heartbeatMs?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

export interface JobOptions {
  priority?: Priority;
  onProgress?: (e: ProgressEvent) => void;
  onLog?: (e: LogEvent) => void;
}

/** A submitted job. `done` resolves with the result or rejects with a SidecarError. */
export interface JobHandle {
  jobId: string;
  /** The job as it was when accepted (state 'queued', its queue position). */
  info: JobInfo;
  done: Promise<ResultEvent>;
  cancel(): Promise<ReplyResult<'cancel'>>;
}

interface Pending {
  type: RequestType;
  /** Called with the validated result as the reply is read, before any later frame is dispatched. */
  onReply?(result: unknown): void;
  resolve(v: unknown): void;
  reject(e: SidecarError): void;
  timer: NodeJS.Timeout;
}

interface JobWaiter {
  resolve(r: ResultEvent): void;
  reject(e: SidecarError): void;
  opts: JobOptions;
}

export interface SidecarClientEvents {
  progress: [ProgressEvent];
  result: [ResultEvent];
  log: [LogEvent];
  job: [JobEvent];
  /** Every valid message from the sidecar, before dispatch. */
  message: [ServerMessage];
  /** The connection ended; the error says why (code 'connection_lost'). */
  close: [SidecarError];
}

export class SidecarClient extends EventEmitter<SidecarClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly jobs = new Map<string, JobWaiter>();
  /** Terminal events that arrived before their waiter existed (bounded). */
  private readonly early = new Map<string, ResultEvent | SidecarError>();
  private heartbeat?: NodeJS.Timeout;
  private closedError?: SidecarError;
  /** Resolves (never rejects) when the connection has ended, with the reason. */
  readonly closed: Promise<SidecarError>;
  private resolveClosed!: (e: SidecarError) => void;

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: SidecarClientOptions,
  ) {
    super();
    this.closed = new Promise((r) => (this.resolveClosed = r));
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('close', (code, reason) =>
      this.fail(`the sidecar connection closed (code ${code}${reason.length ? `: ${reason}` : ''})`),
    );
    ws.on('error', (err) => this.fail(`the sidecar connection failed: ${err.message}`));
    this.startHeartbeat(opts.heartbeatMs ?? 2000);
  }

  /** Opens the connection; rejects with a SidecarError naming the cause (e.g. 401: wrong secret). */
  static async connect(opts: SidecarClientOptions): Promise<SidecarClient> {
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    const trust = opts.certificateSha256 ? await pinnedTls(opts.url, opts.certificateSha256, timeoutMs) : { ca: opts.ca };
    return SidecarClient.open(opts, trust);
  }

  private static open(opts: SidecarClientOptions, trust: Pick<ConnectionOptions, 'ca' | 'checkServerIdentity'>): Promise<SidecarClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(opts.url, {
        headers: { Authorization: `Bearer ${opts.secret}` },
        // ws hands its options to tls.connect as they are; its typings declare checkServerIdentity
        // with another signature than Node's, which is the one called.
        ...(trust as ClientOptions),
        handshakeTimeout: opts.connectTimeoutMs ?? 10_000,
        maxPayload: 64 * 1024 * 1024,
      });
      const onError = (err: Error) => {
        cleanup();
        reject(new SidecarError('connection_lost', `cannot connect to the sidecar at ${opts.url}: ${err.message}`));
      };
      const onUnexpected = (_req: unknown, res: { statusCode?: number; statusMessage?: string }) => {
        cleanup();
        ws.on('error', () => undefined); // terminate() while connecting reports an error we already have
        ws.terminate();
        reject(
          new SidecarError(
            'connection_lost',
            `the sidecar at ${opts.url} refused the connection: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
          ),
        );
      };
      const onOpen = () => {
        cleanup();
        resolve(new SidecarClient(ws, opts));
      };
      const cleanup = () => {
        ws.off('error', onError);
        ws.off('unexpected-response', onUnexpected);
        ws.off('open', onOpen);
      };
      ws.on('error', onError);
      ws.on('unexpected-response', onUnexpected);
      ws.on('open', onOpen);
    });
  }

  /** Sends a request and resolves with its reply's result (validated), or rejects with SidecarError. */
  request<T extends RequestType>(type: T, params: RequestParams<T>, onReply?: (result: ReplyResult<T>) => void): Promise<ReplyResult<T>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SidecarError('timeout', `no reply to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type, onReply: onReply as Pending['onReply'], resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id, type, ...params }));
      } catch (err) {
        this.take(id);
        reject(new SidecarError('invalid_message', `cannot send ${type}: ${(err as Error).message}`));
      }
    });
  }

  /** Sends any text as is (for tests of the sidecar's validation). */
  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  hello(client?: { name: string; version: string }) {
    return this.request('hello', client ? { client } : {});
  }
  listModels() {
    return this.request('listModels', {});
  }
  cancel(jobId: string) {
    return this.request('cancel', { jobId });
  }
  jobStatus(jobId?: string) {
    return this.request('jobStatus', jobId ? { jobId } : {});
  }
  shutdown() {
    return this.request('shutdown', {});
  }
  /**
   * Gets `model` ready so its first generate request is as fast as later ones: runs requests with
   * `params` (the settings that request will have) through the sidecar's job path, writing nothing.
   */
  warmup(model: string, params?: WarmupParams) {
    return this.request('warmup', params ? { model, params } : { model });
  }
  /** Round trip in milliseconds, plus the sidecar's resident memory. */
  async ping(): Promise<{ rttMs: number; rss: number }> {
    const t0 = performance.now();
    const r = await this.request('ping', {});
    return { rttMs: performance.now() - t0, rss: r.rss };
  }

  generate(params: JobParamsMap['generate'], opts: JobOptions = {}) {
    return this.submit('generate', params, opts);
  }
  edit(params: JobParamsMap['edit'], opts: JobOptions = {}) {
    return this.submit('edit', params, opts);
  }
  distill(params: JobParamsMap['distill'], opts: JobOptions = {}) {
    return this.submit('distill', params, opts);
  }
  /** An X/Y plot: one job, each cell's PNG and the labelled grid (the grid last) as its files. */
  xyplot(params: JobParamsMap['xyplot'], opts: JobOptions = {}) {
    return this.submit('xyplot', params, opts);
  }

  /** Submits a job; resolves once the sidecar accepted (queued) it. */
  async submit<K extends JobKind>(kind: K, params: JobParamsMap[K], opts: JobOptions = {}): Promise<JobHandle> {
    let done!: Promise<ResultEvent>;
    // The job is followed as soon as its reply is read, not when this function resumes: a fast job's
    // progress (and result) can arrive in the same read as the reply, and would otherwise be dropped.
    const reply = (await this.request(
      kind,
      { params, ...(opts.priority ? { priority: opts.priority } : {}) } as RequestParams<K>,
      (r) => (done = this.follow((r as ReplyResult<'generate'>).jobId, opts)),
    )) as ReplyResult<'generate'>;
    const jobId = reply.jobId;
    return { jobId, info: reply.job, done, cancel: () => this.cancel(jobId) };
  }

  /** The waiter for a job's result; an outcome that came before it (see finishJob) settles it at once. */
  private follow(jobId: string, opts: JobOptions): Promise<ResultEvent> {
    const done = new Promise<ResultEvent>((resolve, reject) => {
      const early = this.early.get(jobId);
      if (early) {
        this.early.delete(jobId);
        if (early instanceof SidecarError) reject(early);
        else resolve(early);
        return;
      }
      if (this.closedError) return reject(this.jobLost(jobId, this.closedError));
      this.jobs.set(jobId, { resolve, reject, opts });
    });
    done.catch(() => undefined); // the caller may not await it; the rejection is still delivered to those who do
    return done;
  }

  /** Closes the connection (the sidecar keeps running). */
  close(): void {
    this.fail('the client closed the connection');
    this.ws.close(1000);
  }

  get isOpen(): boolean {
    return !this.closedError;
  }

  private onFrame(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = ServerMessage.safeParse(raw);
    if (!parsed.success) return this.unreadable(raw, text);
    this.emit('message', parsed.data);
    this.dispatch(parsed.data);
  }

  /** A frame we cannot read: fail the request it answers, if it names one, rather than let it time out. */
  private unreadable(raw: unknown, text: string): void {
    const message = `unreadable message from the sidecar: ${text.slice(0, 200)}`;
    const id = (raw as { id?: unknown } | undefined)?.id;
    const p = typeof id === 'string' ? this.take(id) : undefined;
    if (p) p.reject(new SidecarError('internal', message));
    else this.emit('log', { v: PROTOCOL_VERSION, type: 'log', level: 'warn', message });
  }

  private dispatch(m: ServerMessage): void {
    switch (m.type) {
      case 'reply': {
        const p = this.take(m.id);
        if (!p) return;
        const check = REPLY_RESULTS[p.type].safeParse(m.result);
        if (check.success) {
          p.onReply?.(check.data);
          p.resolve(check.data);
        } else p.reject(new SidecarError('internal', `malformed ${p.type} reply: ${check.error.message}`));
        return;
      }
      case 'error': {
        const err = new SidecarError(m.code, m.message, m.jobId);
        if (m.id !== undefined) this.take(m.id)?.reject(err);
        if (m.jobId !== undefined) this.finishJob(m.jobId, err);
        return;
      }
      case 'progress':
        this.jobs.get(m.jobId)?.opts.onProgress?.(m);
        this.emit('progress', m);
        return;
      case 'log':
        if (m.jobId) this.jobs.get(m.jobId)?.opts.onLog?.(m);
        this.emit('log', m);
        return;
      case 'result':
        this.emit('result', m);
        this.finishJob(m.jobId, m);
        return;
      case 'job':
        this.emit('job', m);
        return;
    }
  }

  private take(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    return p;
  }

  private finishJob(jobId: string, outcome: ResultEvent | SidecarError): void {
    const w = this.jobs.get(jobId);
    if (!w) {
      // An outcome ahead of the reply that names its job (the sidecar replies first, but nothing here
      // relies on it), or of a job this client does not follow: kept a while, bounded.
      this.early.set(jobId, outcome);
      if (this.early.size > 1000) this.early.delete(this.early.keys().next().value as string);
      return;
    }
    this.jobs.delete(jobId);
    if (outcome instanceof SidecarError) w.reject(outcome);
    else w.resolve(outcome);
  }

  private startHeartbeat(ms: number): void {
    let alive = true;
    this.ws.on('pong', () => (alive = true));
    this.heartbeat = setInterval(() => {
      if (!alive) {
        this.fail(`the sidecar did not answer a heartbeat within ${ms} ms`);
        this.ws.terminate();
        return;
      }
      alive = false;
      this.ws.ping();
    }, ms);
    this.heartbeat.unref();
  }

  private jobLost(jobId: string, why: SidecarError): SidecarError {
    return new SidecarError('connection_lost', `job ${jobId} failed: ${why.message}`, jobId);
  }

  /** Ends everything once: pending requests and unfinished jobs are rejected with the reason. */
  private fail(reason: string): void {
    if (this.closedError) return;
    const err = new SidecarError('connection_lost', reason);
    this.closedError = err;
    clearInterval(this.heartbeat);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const [jobId, w] of this.jobs) w.reject(this.jobLost(jobId, err));
    this.jobs.clear();
    this.resolveClosed(err);
    this.emit('close', err);
  }
}
