/**
 * Starting a sidecar as a child process and connecting to it: what the extension does on activation
 * and what the integration tests do. The secret is made here, handed over in the environment
 * (DIFFUSION_STUDIO_SECRET, which the sidecar removes from its own environment on start) and never
 * written to disk; `--watch-stdin` makes the sidecar exit when this process goes away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { SidecarClient, type SidecarClientOptions } from './client';
import { SidecarError } from './errors';
import { ServeBanner } from './messages';

export const SECRET_ENV = 'DIFFUSION_STUDIO_SECRET';

export interface LaunchOptions {
  /** The program and its leading arguments, e.g. [process.execPath, '<extension>/dist/cli.js']. */
  command: string[];
  /** Extra `serve` options, e.g. ['--device', 'cpu']. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long to wait for the banner line (default 60 s: CUDA detection can take a while). */
  startTimeoutMs?: number;
  /** Called with each line the sidecar writes to stderr (its log). */
  onStderr?: (line: string) => void;
  client?: Omit<SidecarClientOptions, 'url' | 'secret'>;
}

export interface LaunchedSidecar {
  process: ChildProcess;
  banner: ServeBanner;
  secret: string;
  client: SidecarClient;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Spawns `<command> serve --port 0 --watch-stdin ...`, reads its banner and connects. */
export async function launchSidecar(opts: LaunchOptions): Promise<LaunchedSidecar> {
  const secret = newSecret();
  const [program, ...lead] = opts.command;
  const child = spawn(program, [...lead, 'serve', '--port', '0', '--watch-stdin', ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { ...(opts.env ?? process.env), [SECRET_ENV]: secret },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so that one signal to -pid reaches the sidecar and anything it started.
    detached: true,
  });
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrLines.push(line);
    if (stderrLines.length > 50) stderrLines.shift();
    opts.onStderr?.(line);
  });
  try {
    const banner = await readBanner(child, opts.startTimeoutMs ?? 60_000, stderrLines);
    const client = await SidecarClient.connect({ ...opts.client, url: localUrl(banner), secret });
    return { process: child, banner, secret, client };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function readBanner(child: ChildProcess, timeoutMs: number, stderr: string[]): Promise<ServeBanner> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string) => {
      clearTimeout(timer);
      lines.close();
      const log = stderr.length ? `\n${stderr.join('\n')}` : '';
      reject(new SidecarError('connection_lost', `the sidecar did not start: ${why}${log}`));
    };
    const timer = setTimeout(() => fail(`no banner within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`it exited (code ${code}, signal ${signal})`));
    lines.once('line', (line) => {
      clearTimeout(timer);
      const parsed = (() => {
        try {
          return ServeBanner.safeParse(JSON.parse(line));
        } catch {
          return undefined;
        }
      })();
      if (!parsed?.success) return fail(`unexpected first line: ${line.slice(0, 300)}`);
      child.removeAllListeners('exit');
      resolve(parsed.data);
    });
  });
}

/** A sidecar bound to every interface (0.0.0.0, ::) is reached from this machine through loopback. */
export function localUrl(banner: ServeBanner): string {
  if (banner.host !== '0.0.0.0' && banner.host !== '::') return banner.url;
  return `${banner.tls ? 'wss' : 'ws'}://127.0.0.1:${banner.port}`;
}
