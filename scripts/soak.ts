/**
 * `npm run soak -- [--jobs 1000] [--clients 4] [--kills 5] [--cancel 0.1] [--model test/fixtures/tiny-sd]
 *   [--out <dir>] [--json <file>]`
 *
 * A long day of use, compressed: a real sidecar (from source), --clients WebSocket clients submitting
 * generate, edit (Imagic) and distill jobs of a few steps each (--jobs in all), a random tenth of them
 * cancelled at a random moment, and the sidecar killed with SIGKILL --kills times spread through the run
 * (restarted and reconnected as the extension does). At the end it checks what a user would:
 *   - every job ended: finished, cancelled, or failed with a code and a message;
 *   - no output file lost, half-written or overwritten: every file a finished job reported still exists,
 *     decodes, and has the bytes it had when the job finished; no two jobs reported the same file; every
 *     PNG under the output folder decodes;
 *   - the sidecar's resident memory at the end against after the first 100 jobs (`rssRatio`: other
 *     processes when kills fell between), and the last process at its end against after its own first
 *     100 jobs (`lastProcessRatio`); every sample is printed with its process.
 * Exits non-zero when a check fails.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/sidecar/graph/init';
import { launchSidecar, SidecarClient, type LaunchedSidecar, type JobHandle } from '../src/protocol';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROOT = resolve(__dirname, '..');
const TOTAL = Number(opt('jobs', '1000'));
const CLIENTS = Number(opt('clients', '4'));
const KILLS = Number(opt('kills', '5'));
const CANCEL_RATE = Number(opt('cancel', '0.1'));
const MODEL = resolve(opt('model', join(ROOT, 'test', 'fixtures', 'tiny-sd')));
const OUT = resolve(opt('out', mkdtempSync(join(tmpdir(), 'ds-soak-'))));
const JSON_OUT = opt('json', join(OUT, 'soak.json'));

type Kind = 'generate' | 'edit' | 'distill';
interface Outcome {
  n: number;
  kind: Kind;
  state: 'succeeded' | 'cancelled' | 'failed';
  code?: string;
  message?: string;
  files: { path: string; sha256: string }[];
}

/** Seeded: the same --jobs give the same mix and cancel moments (the engine's mulberry32 generator). */
const seeded = new Rng(20261205);
const random = () => seeded.next();

class Sidecar {
  current!: LaunchedSidecar;
  /** How many times it has been started: a client of an older one must reconnect. */
  generation = 0;
  private ready!: Promise<void>;
  rssSamples: { afterJobs: number; pid: number; rss: number }[] = [];

  async start(): Promise<void> {
    this.ready = (async () => {
      this.current = await launchSidecar({ command: [process.execPath, '--import', 'tsx', join(ROOT, 'src', 'sidecar', 'cli', 'main.ts')], args: ['--device', 'cpu'], cwd: ROOT });
      this.generation++;
    })();
    await this.ready;
  }

  /** A connected client of the running sidecar, waiting for a restart in progress. */
  async client(): Promise<{ client: SidecarClient; generation: number }> {
    await this.ready;
    const client = await SidecarClient.connect({ url: this.current.banner.url, secret: this.current.secret });
    return { client, generation: this.generation };
  }

  async kill(): Promise<void> {
    const old = this.current;
    const exited = new Promise((r) => old.process.once('exit', r));
    old.process.kill('SIGKILL');
    await exited;
    old.client.close();
    await this.start();
  }

  sampleRss(afterJobs: number): void {
    const pid = this.current.process.pid!;
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    this.rssSamples.push({ afterJobs, pid, rss: kb * 1024 });
  }
}

function pickKind(): Kind {
  const r = random();
  return r < 0.8 ? 'generate' : r < 0.95 ? 'edit' : 'distill';
}

async function submit(client: SidecarClient, kind: Kind, n: number, editImage: string): Promise<JobHandle> {
  const outputDir = join(OUT, kind);
  if (kind === 'generate') return client.generate({ model: MODEL, prompt: `soak ${n % 17}`, steps: 2 + (n % 3), seed: n % 50, count: 1 + (n % 2), outputDir });
  if (kind === 'edit') return client.edit({ model: MODEL, image: editImage, prompt: 'a red cat', etas: [0.7], steps: 2, embeddingSteps: 2, finetuneSteps: 2, seed: n, outputDir });
  return client.distill({ teacher: MODEL, outputDir: join(OUT, 'students', `s${n}`), method: 'progressive', teacherSteps: 4, studentSteps: 2, iterationsPerRound: 2, batchSize: 1 });
}

async function runOne(client: SidecarClient, kind: Kind, n: number, editImage: string): Promise<Outcome> {
  const base = { n, kind, files: [] as Outcome['files'] };
  try {
    const job = await submit(client, kind, n, editImage);
    if (random() < CANCEL_RATE) setTimeout(() => void job.cancel().catch(() => undefined), Math.floor(random() * 60));
    const result = await job.done;
    const files = result.files.map((f) => ({ path: f.path, sha256: hashFile(f.path) }));
    return { ...base, state: 'succeeded', files };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ...base, state: e.code === 'cancelled' ? 'cancelled' : 'failed', code: e.code, message: e.message };
  }
}

function hashFile(path: string): string {
  return statSync(path).isDirectory() ? 'folder' : createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const sidecar = new Sidecar();
  await sidecar.start();
  const editImage = join(ROOT, 'test', 'fixtures', 'images', 'photo.jpg');
  const killAt = Array.from({ length: KILLS }, (_, k) => Math.round(((k + 1) * TOTAL) / (KILLS + 1)));
  const outcomes: Outcome[] = [];
  let next = 0;
  let killing: Promise<void> | undefined;
  let lastKillAt = 0;
  const t0 = Date.now();

  const onEnded = async (o: Outcome) => {
    outcomes.push(o);
    // each process's memory after its own first 100 jobs, to compare with the same process at its end
    if (outcomes.length - lastKillAt === 100) sidecar.sampleRss(outcomes.length);
    if (killAt.includes(outcomes.length)) {
      sidecar.sampleRss(outcomes.length); // the process about to die: its memory after all its jobs
      lastKillAt = outcomes.length;
      process.stdout.write(`\n[${outcomes.length} jobs] kill -9 pid ${sidecar.current.process.pid}\n`);
      killing = sidecar.kill();
      await killing;
    }
  };

  const worker = async () => {
    let { client, generation } = await sidecar.client();
    while (next < TOTAL) {
      const n = next++;
      const o = await runOne(client, pickKind(), n, editImage);
      await onEnded(o);
      if (!client.isOpen || generation !== sidecar.generation) {
        await killing;
        client.close();
        ({ client, generation } = await sidecar.client());
      }
      if (outcomes.length % 50 === 0) process.stdout.write(`\r${outcomes.length}/${TOTAL} jobs, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    client.close();
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  sidecar.sampleRss(outcomes.length);
  const report = await check(outcomes, sidecar);
  writeFileSync(JSON_OUT, JSON.stringify({ ...report, seconds: (Date.now() - t0) / 1000, jobs: TOTAL, clients: CLIENTS, kills: KILLS, rss: sidecar.rssSamples }, null, 2));
  await sidecar.current.client.shutdown().catch(() => undefined);
  console.log(`\n${JSON.stringify({ ...report, rss: sidecar.rssSamples }, null, 2)}\nwritten: ${JSON_OUT}`);
  process.exit(report.problems.length ? 1 : 0);
}

async function check(outcomes: Outcome[], sidecar: Sidecar) {
  const problems: string[] = [];
  const states: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const o of outcomes) {
    states[`${o.kind} ${o.state}`] = (states[`${o.kind} ${o.state}`] ?? 0) + 1;
    if (o.state === 'failed') {
      failures[o.code ?? 'no code'] = (failures[o.code ?? 'no code'] ?? 0) + 1;
      if (!o.code || !o.message) problems.push(`job ${o.n} failed without a code and a message`);
    }
  }
  if (outcomes.length !== TOTAL) problems.push(`${TOTAL - outcomes.length} jobs never ended`);
  const seen = new Set<string>();
  for (const o of outcomes) {
    for (const f of o.files) {
      if (seen.has(f.path)) problems.push(`${f.path} was reported by two jobs`);
      seen.add(f.path);
      if (!existsSync(f.path)) problems.push(`${f.path} (job ${o.n}) is gone`);
      else if (hashFile(f.path) !== f.sha256) problems.push(`${f.path} (job ${o.n}) was changed after its job finished`);
    }
  }
  let pngs = 0;
  for (const png of listPngs(OUT)) {
    pngs++;
    await sharp(png).raw().toBuffer().catch((e: Error) => problems.push(`${png} does not decode: ${e.message}`));
  }
  const [first, last] = [sidecar.rssSamples[0], sidecar.rssSamples.at(-1)!];
  const rssRatio = last.rss / first.rss;
  // the last process: at its end against after its own first 100 jobs (when it ran that many)
  const lastEarly = sidecar.rssSamples.find((x) => x.pid === last.pid);
  const lastProcessRatio = lastEarly && lastEarly !== last ? Number((last.rss / lastEarly.rss).toFixed(3)) : null;
  return { states, failures, filesReported: seen.size, pngsOnDisk: pngs, rssRatio: Number(rssRatio.toFixed(3)), lastProcessRatio, problems };
}

function listPngs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listPngs(p);
    return e.name.endsWith('.png') ? [p] : [];
  });
}

void main();
