/**
 * `diffusion-studio serve`: starts the sidecar. Prints one JSON line (the banner: url, port, pid,
 * provider ...) on stdout, logs to stderr, and serves until a client sends shutdown, it gets SIGTERM or
 * SIGINT, its parent process dies, or (with --watch-stdin) its stdin closes.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PROTOCOL_VERSION, SECRET_ENV, newSecret, type ServeBanner } from '../../../protocol';
import { chooseProvider, type DeviceRequest } from '../../runtime/providers';
import { checkBind } from '../../server/auth';
import { ModelRegistry } from '../../server/models';
import { SidecarServer } from '../../server/server';
import { UserError } from '../errors';
import { collect } from '../options';

interface ServeOptions {
  port: string;
  host: string;
  secretFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  device: string;
  models: string[];
  watchStdin?: boolean;
  watchParent: boolean;
  preload: string[];
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('start the sidecar: an authenticated WebSocket server that runs generation jobs')
    .option('--port <n>', 'port to listen on (0 = pick a free one)', '0')
    .option('--host <addr>', 'address to bind; anything but loopback needs --tls-cert and --tls-key', '127.0.0.1')
    .option('--secret-file <file>', `file holding the connection secret (else $${SECRET_ENV}, else a new one, printed in the banner)`)
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--device <d>', 'execution provider: auto, cpu or cuda', 'auto')
    .option('--models <dir>', 'extra model folder, or folder of model folders (repeatable; also $DIFFUSION_STUDIO_MODELS)', collect, [])
    .option('--preload <model>', 'warm this model up (sessions opened, one image at its own settings made through the job path and thrown away; a request arriving meanwhile stops it) as soon as the server listens, so its first request is as fast as later ones (repeatable)', collect, [])
    .option('--watch-stdin', 'exit when stdin closes (for a parent that keeps a pipe open)')
    .option('--no-watch-parent', 'keep running when the parent process exits')
    .action((opts: ServeOptions) => serve(opts));
}

async function serve(opts: ServeOptions): Promise<void> {
  // Read before anything slow: a parent that dies while we start must still count as our parent.
  const parentPid = process.ppid;
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port must be 0..65535, got "${opts.port}"`);
  const device = opts.device as DeviceRequest;
  if (!['auto', 'cpu', 'cuda'].includes(device)) throw new UserError(`--device must be auto, cpu or cuda, got "${opts.device}"`);
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new UserError('--tls-cert and --tls-key go together');
  const tls = opts.tlsCert && opts.tlsKey ? { cert: readOrFail(opts.tlsCert, '--tls-cert'), key: readOrFail(opts.tlsKey, '--tls-key') } : undefined;
  try {
    checkBind(opts.host, tls !== undefined);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const { secret, generated } = loadSecret(opts.secretFile);

  const models = new ModelRegistry(opts.models);
  // A model named here must exist before anything listens: a typo fails now, with the models known.
  for (const model of opts.preload) {
    try {
      models.resolve(model, 'generate');
    } catch (err) {
      throw new UserError(`--preload ${model}: ${(err as Error).message}`);
    }
  }

  const provider = await chooseProvider(device);
  if (provider.note) console.error(`diffusion-studio: ${provider.note}`);
  const version = process.env.DIFFUSION_STUDIO_VERSION ?? '0.1.0';
  let server: SidecarServer;
  try {
    server = await SidecarServer.start({
      host: opts.host,
      port,
      secret,
      tls,
      provider,
      models,
      version,
      onShutdown: () => exit(0, 'shutdown requested by a client'),
    });
  } catch (err) {
    throw new UserError(`cannot listen on ${opts.host}:${port}: ${(err as Error).message}`);
  }
  const banner: ServeBanner = {
    event: 'listening',
    protocolVersion: PROTOCOL_VERSION,
    url: server.url,
    host: opts.host,
    port: server.port,
    tls: tls !== undefined,
    pid: process.pid,
    executionProvider: provider.provider,
    deviceName: provider.deviceName,
    ...(generated ? { secret } : {}),
  };
  process.stdout.write(`${JSON.stringify(banner)}\n`);
  console.error(`diffusion-studio: sidecar listening on ${server.url} (${provider.provider}: ${provider.deviceName})`);

  // After the banner: the client connects meanwhile, and its first request queues behind the warm-up.
  for (const model of opts.preload) {
    server.warmup(model).then(
      (r) => console.error(`diffusion-studio: preloaded ${r.model} in ${r.ms.toFixed(0)} ms`),
      (err: Error) => console.error(`diffusion-studio: could not preload ${model}: ${err.message}`),
    );
  }

  const stop = (why: string) => void server.close().finally(() => exit(0, why));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  if (opts.watchStdin) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin failed'));
    process.stdin.resume();
  }
  if (opts.watchParent) watchParent(parentPid, () => stop('the parent process exited'));
}

function exit(code: number, why: string): void {
  console.error(`diffusion-studio: sidecar stopped (${why})`);
  process.exit(code);
}

/** The parent's death re-parents us (ppid changes); polling is the portable way to see it. */
function watchParent(parent: number, onGone: () => void): void {
  if (process.ppid !== parent) return onGone();
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}

function loadSecret(file: string | undefined): { secret: string; generated: boolean } {
  if (file) {
    const secret = readOrFail(file, '--secret-file').toString('utf8').trim();
    if (secret.length < 16) throw new UserError(`the secret in ${file} is too short (at least 16 characters)`);
    return { secret, generated: false };
  }
  const env = process.env[SECRET_ENV];
  delete process.env[SECRET_ENV]; // not inherited by anything the sidecar starts
  if (env) {
    if (env.length < 16) throw new UserError(`$${SECRET_ENV} is too short (at least 16 characters)`);
    return { secret: env, generated: false };
  }
  return { secret: newSecret(), generated: true };
}

function readOrFail(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UserError(`${option} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
