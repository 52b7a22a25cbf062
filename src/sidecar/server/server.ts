/**
 * SidecarServer: the authenticated WebSocket server. It checks each upgrade (auth.ts), validates each
 * frame (validate.ts), answers requests, queues jobs (queue.ts) that run on the worker thread, and
 * routes job events to the client that submitted the job (state changes go to everyone).
 */
import { createServer as createHttp, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  SidecarError,
  type Capabilities,
  type JobKind,
  type Request,
  type ServerMessage,
  type WarmupParams,
  type XYAxis,
} from '../../protocol';
import { inputImages } from '../jobs/contract';
import { availableKinds, handlerFor, type JobRegistry } from '../jobs/registry';
import { unetBytesOf, warmupRequest, warmupRuns } from '../jobs/warmup';
import type { ProviderChoice } from '../runtime/providers';
import { WorkerHost } from './worker-host';
import { checkBind, verifyUpgrade } from './auth';
import { checkImage, checkOutputDir } from './inputs';
import { ModelRegistry } from './models';
import { JobQueue, type QueueListener } from './queue';
import { parseRequest } from './validate';

export interface SidecarServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  secret: string;
  tls?: { cert: Buffer; key: Buffer };
  provider: ProviderChoice;
  models: ModelRegistry;
  version: string;
  /** The job kinds this server accepts (default: all of JOBS); others are refused with not_available. */
  jobs?: JobRegistry;
  /** Called after a client's shutdown request has been answered and the server closed. */
  onShutdown?: () => void;
}

const MAX_PAYLOAD = 2 * 1024 * 1024;
const CLIENT_HEARTBEAT_MS = 15_000;

export class SidecarServer {
  private readonly clients = new Map<string, WebSocket>();
  private readonly queue: JobQueue;
  private readonly host: WorkerHost;
  private nextClient = 1;
  private stopping = false;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly opts: SidecarServerOptions,
  ) {
    this.host = new WorkerHost({ executionProviders: opts.provider.executionProviders });
    this.queue = new JobQueue(this.host, this.listener());
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    wss.on('connection', (ws) => this.onConnection(ws));
  }

  static async start(opts: SidecarServerOptions): Promise<SidecarServer> {
    checkBind(opts.host, opts.tls !== undefined);
    const http = opts.tls ? createHttps({ cert: opts.tls.cert, key: opts.tls.key }) : createHttp();
    // Plain HTTP requests get nothing: the sidecar is a WebSocket endpoint only.
    http.on('request', (_req, res) => res.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only\n'));
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port, opts.host, () => resolve());
    });
    return new SidecarServer(http, wss, opts);
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `${this.opts.tls ? 'wss' : 'ws'}://${host}:${this.port}`;
  }

  capabilities(): Capabilities {
    const p = this.opts.provider;
    return {
      protocolVersion: PROTOCOL_VERSION,
      sidecarVersion: this.opts.version,
      executionProvider: p.provider,
      deviceName: p.deviceName,
      ortVersion: p.ortVersion,
      ...(p.note ? { providerNote: p.note } : {}),
      jobKinds: availableKinds(this.opts.jobs),
      models: this.opts.models.list(),
      pid: process.pid,
    };
  }

  /** Cancels all work, closes every connection and the listening socket. */
  async close(): Promise<number> {
    if (this.stopping) return 0;
    this.stopping = true;
    const cancelled = await this.queue.shutdown();
    await this.host.terminate();
    for (const ws of this.clients.values()) ws.close(1001, 'sidecar shutting down');
    this.wss.close();
    await new Promise<void>((r) => this.http.close(() => r()));
    for (const ws of this.clients.values()) ws.terminate();
    return cancelled;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const verdict = verifyUpgrade(req, this.opts.secret);
    if (!verdict.ok) {
      const text = verdict.status === 401 ? 'Unauthorized' : 'Forbidden';
      socket.end(`HTTP/1.1 ${verdict.status} ${text}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${verdict.reason}\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private onConnection(ws: WebSocket): void {
    const clientId = `client-${this.nextClient++}`;
    this.clients.set(clientId, ws);
    this.watchClient(ws);
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === null) {
        this.send(clientId, { v: PROTOCOL_VERSION, type: 'error', code: 'bad_json', message: 'binary frames are not accepted; send JSON text' });
        return;
      }
      // Last line of defence: whatever a frame does, it must not take the sidecar down.
      this.onText(clientId, text).catch((err: unknown) =>
        this.send(clientId, { v: PROTOCOL_VERSION, type: 'error', code: 'internal', message: String((err as Error)?.message ?? err) }),
      );
    });
    ws.on('close', () => this.clients.delete(clientId));
    ws.on('error', () => this.clients.delete(clientId));
  }

  /**
   * Drops a client that stopped answering WebSocket pings (a remote machine that vanished without
   * closing its TCP connection), so the server does not keep sending it events forever.
   */
  private watchClient(ws: WebSocket): void {
    let alive = true;
    ws.on('pong', () => (alive = true));
    const timer = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, CLIENT_HEARTBEAT_MS);
    timer.unref();
    ws.on('close', () => clearInterval(timer));
  }

  private async onText(clientId: string, text: string): Promise<void> {
    const receivedAt = performance.now();
    const parsed = parseRequest(text);
    if (!parsed.ok) return this.send(clientId, parsed.error);
    const req = parsed.request;
    try {
      const result = await this.handle(clientId, req, receivedAt);
      this.send(clientId, { v: PROTOCOL_VERSION, type: 'reply', id: req.id, request: req.type, result });
      // The reply goes out first; then the connections close.
      if (req.type === 'shutdown') void this.close().then(() => this.opts.onShutdown?.());
    } catch (err) {
      const e = err instanceof SidecarError ? err : new SidecarError('internal', (err as Error)?.message ?? String(err));
      this.send(clientId, { v: PROTOCOL_VERSION, type: 'error', id: req.id, code: e.code, message: e.message });
    }
  }

  private async handle(clientId: string, req: Request, receivedAt: number): Promise<unknown> {
    switch (req.type) {
      case 'hello':
        return this.capabilities();
      case 'listModels':
        return { models: this.opts.models.list() };
      case 'ping':
        return { time: Date.now(), rss: process.memoryUsage.rss() };
      case 'cancel':
        return { jobId: req.jobId, state: this.queue.cancel(req.jobId) };
      case 'jobStatus':
        return { jobs: req.jobId ? [this.queue.get(req.jobId)] : this.queue.list() };
      case 'warmup':
        return this.warmup(req.model, req.params);
      case 'shutdown':
        return { cancelledJobs: this.queue.list().filter((j) => j.state === 'queued' || j.state === 'running').length };
      case 'generate':
      case 'edit':
      case 'distill':
      case 'xyplot': {
        const params = await this.prepare(req.type, req.params);
        const job = this.queue.submit(req.type, params, clientId, req.priority, receivedAt);
        return { jobId: job.jobId, job };
      }
    }
  }

  /**
   * Gets `model` (a name or folder) ready for generation (jobs/warmup.ts): a generate request with
   * `params` (unset: the model's own settings) goes through what a client's goes through (validation,
   * input checks, the queue, the worker, staging and publishing), into a temporary folder removed
   * afterwards, its events to no client. Unknown or broken models are refused at once, as a generate
   * request would be.
   */
  async warmup(model: string, params: WarmupParams = {}): Promise<{ model: string; ms: number; completed: boolean; runs: number }> {
    if (this.stopping) throw new SidecarError('shutting_down', 'the sidecar is shutting down and takes no new work');
    handlerFor('generate', this.opts.jobs);
    const dir = this.opts.models.resolve(model, 'generate');
    const out = mkdtempSync(join(tmpdir(), 'diffusion-studio-warmup-'));
    const unetBytes = unetBytesOf(dir);
    const text = JSON.stringify({ v: PROTOCOL_VERSION, id: 'warmup', type: 'generate', params: warmupRequest(dir, params, out, unetBytes) });
    try {
      const parsed = parseRequest(text);
      if (!parsed.ok) throw new SidecarError(parsed.error.code, parsed.error.message);
      if (parsed.request.type !== 'generate') throw new Error('a warm-up request parsed as another type');
      let ms = 0;
      for (let runs = 1; ; runs++) {
        // Each run goes through the whole path again (checks, queue, worker), and gives way like the first.
        const run = await this.queue.warm(await this.prepare('generate', parsed.request.params));
        ms += run.ms;
        if (run.output === undefined) return { model: dir, ms, completed: false, runs };
        if (runs >= warmupRuns(unetBytes)) return { model: dir, ms, completed: true, runs };
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }

  /** Input checks before queueing (fast failures), then model ids resolved to absolute folders. */
  private async prepare(kind: JobKind, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.stopping) throw new SidecarError('shutting_down', 'the sidecar is shutting down and takes no new jobs');
    handlerFor(kind, this.opts.jobs); // not_available before any other check
    const out = { ...params };
    for (const image of inputImages(params)) await checkImage(image);
    if (kind === 'distill') out.teacher = this.opts.models.resolve(String(params.teacher), kind);
    else out.model = this.opts.models.resolve(String(params.model), kind);
    if (kind === 'xyplot') for (const axis of ['x', 'y'] as const) out[axis] = this.resolveAxis(params[axis] as XYAxis);
    // Last, because it creates the folder: a request refused for another reason leaves nothing behind.
    // A student model folder is made by the distillation itself (its existence means "resume"), so for
    // distill only the folder that will hold it is checked.
    if (typeof params.outputDir === 'string') {
      const dir = resolve(params.outputDir);
      await checkOutputDir(kind === 'distill' ? dirname(dir) : dir);
    }
    return out;
  }

  /** A model axis's values resolved like a request's model: an unknown one is refused before the job is queued. */
  private resolveAxis(axis: XYAxis): XYAxis {
    if (axis.setting !== 'model') return axis;
    const resolveValue = (m: string, k: number) => {
      try {
        return this.opts.models.resolve(m, 'xyplot');
      } catch (err) {
        const e = err as SidecarError;
        throw new SidecarError(e.code ?? 'model_not_found', `model axis, value ${k + 1} ("${m}"): ${e.message}`);
      }
    };
    return { setting: 'model', values: axis.values.map(resolveValue) };
  }

  private listener(): QueueListener {
    const v = PROTOCOL_VERSION;
    return {
      job: (job) => this.broadcast({ v, type: 'job', job }),
      progress: (p, owner) => {
        const { type: _t, ...rest } = p;
        this.send(owner, { v, type: 'progress', ...rest });
      },
      log: (l, owner) => this.send(owner, { v, type: 'log', level: l.level, message: l.message, jobId: l.jobId }),
      result: (jobId, output, owner) => this.send(owner, { v, type: 'result', jobId, ...output }),
      failed: (jobId, e, owner) => this.send(owner, { v, type: 'error', jobId, code: e.code, message: e.message }),
    };
  }

  private send(clientId: string, m: ServerMessage): void {
    const ws = this.clients.get(clientId);
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  }

  private broadcast(m: ServerMessage): void {
    const text = JSON.stringify(m);
    for (const ws of this.clients.values()) if (ws.readyState === ws.OPEN) ws.send(text);
  }
}
