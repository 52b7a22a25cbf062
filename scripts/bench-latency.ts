/**
 * `npm run bench:latency -- [--runs 25] [--warmup 3] [--cold 5] [--preview-runs 15] [--ref <checkout>]
 *   [--models teacher,guided-1,guided-2,guided-4,guided-8] [--teacher emoji-styles]
 *   [--student-prefix emoji-styles-guided-] [--floor-runs 200] [--no-build] [--json <file>]`
 *
 * Latency as the user sees it: a real sidecar (`node dist/cli.js serve`, the bundle the extension runs,
 * built first with scripts/build.mjs), one `generate` request at a time over a real WebSocket, timed from
 * sending the request to the `result` event. Single images, guidance 3: the teacher (--teacher, 64
 * DDIM steps, guided: a batch of two per step) and each of its guided students (--student-prefix N for
 * N = 8, 4, 2, 1) at its own step count.
 *
 * - warm: after --warmup requests of each model, --runs timed rounds; each round sends one request of
 *   every model (and, with --ref, of every tree: two sidecars side by side), the order rotating from
 *   round to round, so the machine's load falls on all of them alike.
 * - the split, from the result event's `timings` (docs/SIDECAR.md, "Timings"): ONNX Runtime, session
 *   loading, the pipeline's own arithmetic, PNG encoding, files (staged write, staging, publish), the job
 *   path (validation, queue, thread hops, events: serverMs less the parts) and the transport (WebSocket
 *   and JSON both ends: the client's time less serverMs). "outside the pipeline" = job path + transport +
 *   the handler's staging and publishing; a reference tree without `timings` gets the wall time only.
 * - previews: a 20-step teacher request with previewEvery 2 (what the extension sends for 20 steps: a
 *   tenth of the steps) against the same request without, alternating.
 * - cold: --cold fresh sidecars per case and tree (the trees alternating); the first request right after
 *   connecting, and after a `warmup` of the model with the request's settings, which is what the
 *   extension sends (a tree whose `warmup` takes no settings gets the model alone; one without `warmup`
 *   is skipped). The first request's wall time against the same tree's warm one, and its split.
 *
 * - floor: the same request and result texts through a bare WebSocket server in another process, a
 *   worker thread's round trip, and the sidecar's StagedImages writing and publishing a file of the result's PNG size,
 *   with the 4-step student's pipeline time between the halves, idle or busy (bench-latency-floor.ts):
 *   what those parts cost with no sidecar code in them, beside the measured "outside pipeline".
 *
 * Prints tables (min and median over the runs) and writes JSON (every run) to --json
 * (default outputs/bench-latency.json). The machine may be shared: compare ratios from the same run.
 *
 * `--sd <folder> [--sd-size 512] [--sd-steps 2]`: instead of all the above, the cold cost on a Stable
 * Diffusion-sized folder (a diffusers ONNX export; with --sd-make, a random-weight SD 1.5-size folder is
 * written there first by nn/sd15/folder.ts: the same sizes, so the same session and step costs): one
 * fresh sidecar's first request at once and then a warm one, and another fresh sidecar's first request
 * after `warmup` with the request's settings (what the extension sends). Each is minutes of CPU here,
 * so each runs once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeSd15Folder } from '../src/sidecar/nn/sd15/folder';
import { measureFloor, type FloorSamples } from './bench-latency-floor';
import { PROTOCOL_VERSION, launchSidecar, type GenerateParams, type JobTimings, type LaunchedSidecar, type SidecarClient, type SidecarError } from '../src/protocol';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROOT = resolve(__dirname, '..');
const RUNS = Number(opt('runs', '25'));
const WARMUP = Number(opt('warmup', '3'));
const COLD = Number(opt('cold', '5'));
const PREVIEW_RUNS = Number(opt('preview-runs', '15'));
const FLOOR_RUNS = Number(opt('floor-runs', '200'));
const JSON_OUT = resolve(opt('json', join(ROOT, 'outputs', 'bench-latency.json')));
const TREES: Record<string, string> = { this: ROOT, ...(args.includes('--ref') ? { ref: resolve(opt('ref', '')) } : {}) };
const OUT = mkdtempSync(join(tmpdir(), 'ds-bench-latency-'));

interface Case {
  name: string;
  params: Omit<GenerateParams, 'outputDir' | 'seed'>;
}
// The default model's family; `--teacher emoji-base --student-prefix emoji-guided-` for the first one.
const TEACHER = opt('teacher', 'emoji-styles');
const STUDENT_PREFIX = opt('student-prefix', 'emoji-styles-guided-');
const ALL_CASES: Case[] = [
  { name: 'teacher', params: { model: TEACHER, prompt: 'a smiling cat face', steps: 64, scheduler: 'ddim', guidanceScale: 3 } },
  ...[8, 4, 2, 1].map((n) => ({ name: `guided-${n}`, params: { model: `${STUDENT_PREFIX}${n}`, prompt: 'a smiling cat face', guidanceScale: 3 } })),
];
const wanted = opt('models', ALL_CASES.map((c) => c.name).join(',')).split(',');
const CASES = ALL_CASES.filter((c) => wanted.includes(c.name));

/** One measured request: the client's wall time and the sidecar's breakdown (absent from old trees). */
interface Sample {
  wallMs: number;
  timings?: JobTimings;
}

/** The last request sent and result received per case (this tree), as the floor's payloads. */
const lastExchange = new Map<string, { request: string; result: string; pngBytes: number }>();

/** Builds the tree's bundles (dist/cli.js + dist/worker.js), as the extension ships them. */
function build(tree: string): void {
  if (args.includes('--no-build')) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: tree, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`the build of ${tree} failed`);
}

function start(tree: string): Promise<LaunchedSidecar> {
  return launchSidecar({ command: [process.execPath, join(tree, 'dist', 'cli.js')], args: ['--device', 'cpu'], cwd: OUT, client: { requestTimeoutMs: 600_000 } });
}

let seed = 0;
/** Sends one generate request and times it to its result event (taken as the client reads it). */
async function timed(client: SidecarClient, tree: string, c: Case, extra: Partial<GenerateParams> = {}): Promise<Sample> {
  const outputDir = join(OUT, tree, c.name);
  let t1 = 0;
  const onResult = () => (t1 = performance.now());
  client.once('result', onResult);
  const t0 = performance.now();
  const params = { ...c.params, ...extra, seed: seed++, outputDir };
  const job = await client.generate(params);
  const r = await job.done;
  if (tree === 'this') {
    const request = JSON.stringify({ v: PROTOCOL_VERSION, id: 1, type: 'generate', ...params });
    lastExchange.set(c.name, { request, result: JSON.stringify(r), pngBytes: statSync(r.files[0].path).size });
  }
  return { wallMs: t1 - t0, timings: r.timings };
}

const PARTS = ['ortMs', 'loadMs', 'pipelineMs', 'pngMs', 'filesMs', 'jobPathMs'] as const;

/** The samples' summary: min and median of the wall time, of each part, and of what lies outside the pipeline. */
function summary(samples: Sample[]) {
  const out: Record<string, { min: number; median: number }> = { wallMs: minMedian(samples.map((s) => s.wallMs)) };
  const withT = samples.filter((s) => s.timings?.jobPathMs !== undefined);
  if (withT.length === samples.length) {
    for (const p of PARTS) out[p] = minMedian(withT.map((s) => s.timings![p]!));
    out.transportMs = minMedian(withT.map((s) => s.wallMs - s.timings!.serverMs!));
    out.outsidePipelineMs = minMedian(withT.map(outsidePipeline));
  }
  return out;
}

/**
 * What a request costs beyond the pipeline (textToImage): the wall time less ORT, session look-up,
 * arithmetic, PNG and the staged write (which the pipeline itself does).
 */
function outsidePipeline(s: Sample): number {
  const t = s.timings!;
  return s.wallMs - t.ortMs! - t.loadMs! - t.pipelineMs! - t.pngMs!;
}

/** Min and median of a series: the two figures every table of this benchmark gives. */
function minMedian(xs: number[]): { min: number; median: number } {
  return { min: Math.min(...xs), median: median(xs) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function warm(sidecars: Record<string, LaunchedSidecar>) {
  for (const [tree, s] of Object.entries(sidecars)) for (const c of CASES) for (let i = 0; i < WARMUP; i++) await timed(s.client, tree, c);
  const samples: Record<string, Record<string, Sample[]>> = {};
  const order = Object.keys(sidecars).flatMap((tree) => CASES.map((c) => ({ tree, c })));
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < order.length; k++) {
      const { tree, c } = order[(k + r) % order.length];
      ((samples[tree] ??= {})[c.name] ??= []).push(await timed(sidecars[tree].client, tree, c));
    }
    process.stderr.write(`\rwarm: round ${r + 1}/${RUNS}`);
  }
  process.stderr.write('\n');
  return samples;
}

/** A 20-step teacher request with previewEvery 2 (the extension's steps / 10) against the same request without, alternating. */
async function previews(client: SidecarClient, tree: string) {
  const c: Case = { name: 'preview-20', params: { ...ALL_CASES[0].params, steps: 20 } };
  const plain: Sample[] = [];
  const withPreview: Sample[] = [];
  for (let i = 0; i < WARMUP; i++) await timed(client, tree, c, { previewEvery: 2 });
  for (let r = 0; r < PREVIEW_RUNS; r++) {
    plain.push(await timed(client, tree, c));
    withPreview.push(await timed(client, tree, c, { previewEvery: 2 }));
  }
  return { plain, withPreview };
}

/**
 * The floor (bench-latency-floor.ts) with the 4-step student's request and result (or the first
 * student's), printed beside the measured outside-pipeline figure of the same run.
 */
async function floor(samples: Record<string, Sample[]>) {
  const name = lastExchange.has('guided-4') ? 'guided-4' : [...lastExchange.keys()].find((n) => n !== 'teacher') ?? 'teacher';
  const x = lastExchange.get(name)!, measured = summary(samples[name]);
  const gapMs = measured.ortMs ? measured.ortMs.median + measured.pipelineMs.median : 8;
  const o = { runs: FLOOR_RUNS, gapMs, requestText: x.request, resultText: x.result, pngBytes: x.pngBytes };
  const idle = await measureFloor({ ...o, mode: 'idle' }), busy = await measureFloor({ ...o, mode: 'busy' });
  const sum = (f: FloorSamples, parts: (keyof FloorSamples)[]) => minMedian(f.files.map((_, i) => parts.reduce((a, p) => a + f[p][i], 0)));
  const row = (label: string, parts: (keyof FloorSamples)[], m = '') => console.log(`| ${label} | ${mm(sum(idle, parts))} | ${mm(sum(busy, parts))} | ${m} |`);
  console.log(`\nFloor: the same texts and file size with no sidecar code (${FLOOR_RUNS} tries, ${gapMs.toFixed(1)} ms between the halves, idle or busy; ms, min / median), beside ${name}'s measured figures:`);
  console.log('| part | floor, idle gap | floor, busy gap | measured |');
  console.log('|---|---:|---:|---:|');
  row('WebSocket round trip (another process, JSON both ends)', ['webSocket'], `${mm(measured.transportMs)} (transport)`);
  row('worker thread round trip', ['workerThread']);
  row('staged write + exclusive publish (StagedImages)', ['files'], `${mm(measured.filesMs)} (files)`);
  row('WebSocket + files (what the design requires)', ['webSocket', 'files']);
  row('WebSocket + files + worker thread', ['webSocket', 'files', 'workerThread'], `${mm(measured.outsidePipelineMs)} (outside pipeline)`);
  return { model: name, gapMs, idle, busy };
}

interface ColdRun {
  startMs: number;
  warmupMs?: number;
  /** What the warm-up was sent: the request's settings, or the model alone (a tree that takes no settings). */
  warmupWith?: 'settings' | 'model';
  /** The warm-up's own reply (ms on the worker, runs), where the tree sends one. */
  warmupReply?: unknown;
  sample: Sample;
}

/**
 * One fresh sidecar of `tree`: the first request at once, or after a warmup request carrying the
 * request's settings (as the extension sends; the model alone where the tree refuses settings).
 * Undefined where the tree does not know `warmup`.
 */
async function coldOnce(tree: string, c: Case, viaWarmup: boolean): Promise<ColdRun | undefined> {
  const { sidecar: s, ms: startMs } = await timedStart(TREES[tree]);
  try {
    const run: Partial<ColdRun> = { startMs };
    if (viaWarmup) {
      const { model, prompt: _p, ...settings } = c.params;
      const tw = performance.now();
      try {
        run.warmupReply = await s.client.request('warmup' as never, { model, params: settings } as never);
        run.warmupWith = 'settings';
      } catch (err) {
        const code = (err as SidecarError).code;
        if (code === 'unknown_type') return undefined;
        if (code !== 'invalid_message') throw err;
        run.warmupReply = await s.client.request('warmup' as never, { model } as never);
        run.warmupWith = 'model';
      }
      run.warmupMs = performance.now() - tw;
    }
    return { ...run, sample: await timed(s.client, tree, c) } as ColdRun;
  } finally {
    await stop(s);
  }
}

async function stop(s: LaunchedSidecar): Promise<void> {
  const exited = new Promise((r) => s.process.once('exit', r));
  await s.client.shutdown().catch(() => s.process.kill('SIGKILL'));
  await exited;
}

const f = (x: number) => (x >= 100 ? x.toFixed(1) : x.toFixed(2));
const mm = (s: { min: number; median: number } | undefined) => (s ? `${f(s.min)} / ${f(s.median)}` : '–');

/** The SD-size cold figure (--sd): at once + warm on one sidecar, after warmup on another. */
async function sdCold(folder: string): Promise<void> {
  const size = Number(opt('sd-size', '512')), steps = Number(opt('sd-steps', '2'));
  if (args.includes('--sd-make') && !existsSync(join(folder, 'model_index.json'))) {
    const t0 = performance.now();
    writeSd15Folder(folder, { size: 'full', latentSize: size / 8, tokenizerDir: join(ROOT, 'test', 'fixtures', 'tiny-sd', 'tokenizer'), log: (m) => console.log(`sd folder: ${m}`) });
    console.log(`sd folder: written in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  if (!existsSync(join(folder, 'model_index.json'))) throw new Error(`${folder} has no model_index.json (add --sd-make to write a random-weight SD 1.5-size folder there)`);
  build(ROOT);
  const c: Case = { name: 'sd', params: { model: folder, prompt: 'a lighthouse on a cliff at dusk', steps, width: size, height: size, scheduler: 'ddim', guidanceScale: 7.5 } };
  const rows: Array<{ how: string; startMs?: number; warmupMs?: number; sample: Sample }> = [];
  let s = await timedStart();
  try {
    rows.push({ how: 'first request, at once', startMs: s.ms, sample: await timed(s.sidecar.client, 'this', c) });
    rows.push({ how: 'warm request (same sidecar, next seed)', sample: await timed(s.sidecar.client, 'this', c) });
  } finally {
    await stop(s.sidecar);
  }
  s = await timedStart();
  try {
    const { model, prompt: _p, ...settings } = c.params;
    const tw = performance.now();
    await s.sidecar.client.request('warmup' as never, { model, params: settings } as never);
    const warmupMs = performance.now() - tw;
    rows.push({ how: 'first request after warmup', startMs: s.ms, warmupMs, sample: await timed(s.sidecar.client, 'this', c) });
  } finally {
    await stop(s.sidecar);
  }
  const sec = (x?: number) => (x === undefined ? '–' : (x / 1000).toFixed(1));
  console.log(`\nSD-size folder ${folder}: ${size}x${size}, ${steps} DDIM steps, guidance 7.5 (s):`);
  console.log('| request | serve start | warmup | request -> result | its load (sessions) | its ORT | / warm |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const warmMs = rows[1].sample.wallMs;
  for (const r of rows) console.log(`| ${r.how} | ${sec(r.startMs)} | ${sec(r.warmupMs)} | ${sec(r.sample.wallMs)} | ${sec(r.sample.timings?.loadMs)} | ${sec(r.sample.timings?.ortMs)} | ${(r.sample.wallMs / warmMs).toFixed(2)}x |`);
  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), sd: { folder, size, steps, rows } }, null, 1));
  console.log(`\nwritten: ${JSON_OUT}`);
}

/** A fresh sidecar of `tree`, and how long it took from spawn to connected. */
async function timedStart(tree = ROOT): Promise<{ sidecar: LaunchedSidecar; ms: number }> {
  const t0 = performance.now();
  const sidecar = await start(tree);
  return { sidecar, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  if (args.includes('--sd')) return sdCold(resolve(opt('sd', '')));
  for (const tree of Object.values(TREES)) build(tree);
  const sidecars: Record<string, LaunchedSidecar> = {};
  for (const [name, tree] of Object.entries(TREES)) sidecars[name] = await start(tree);
  const report: Record<string, unknown> = { date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, trees: TREES };
  const warmSamples: Record<string, Record<string, Sample[]>> = {};
  try {
    const samples = await warm(sidecars);
    Object.assign(warmSamples, samples);
    report.warm = samples;
    console.log('\nWarm, request -> result (ms, min / median):');
    console.log('| tree | model | wall | ORT | load | arithmetic | PNG | files | job path | transport | outside pipeline | teacher / this (min, median) |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [tree, byCase] of Object.entries(samples)) {
      const teacher = byCase.teacher && summary(byCase.teacher).wallMs;
      for (const [name, ss] of Object.entries(byCase)) {
        const s = summary(ss);
        const ratio = teacher ? `${(teacher.min / s.wallMs.min).toFixed(1)}x, ${(teacher.median / s.wallMs.median).toFixed(1)}x` : '';
        console.log(`| ${tree} | ${name} | ${mm(s.wallMs)} | ${mm(s.ortMs)} | ${mm(s.loadMs)} | ${mm(s.pipelineMs)} | ${mm(s.pngMs)} | ${mm(s.filesMs)} | ${mm(s.jobPathMs)} | ${mm(s.transportMs)} | ${mm(s.outsidePipelineMs)} | ${ratio} |`);
      }
    }
    if (FLOOR_RUNS > 0) report.floor = await floor(samples.this);
    if (PREVIEW_RUNS > 0) {
      console.log('\nPreviews, 20-step teacher request (ms, min / median):');
      console.log('| tree | without | previewEvery 2 | overhead (min, median) |');
      console.log('|---|---:|---:|---:|');
      const pv: Record<string, unknown> = {};
      for (const [tree, s] of Object.entries(sidecars)) {
        const p = await previews(s.client, tree);
        pv[tree] = p;
        const [a, b] = [summary(p.plain).wallMs, summary(p.withPreview).wallMs];
        console.log(`| ${tree} | ${mm(a)} | ${mm(b)} | ${((b.min / a.min - 1) * 100).toFixed(1)}%, ${((b.median / a.median - 1) * 100).toFixed(1)}% |`);
      }
      report.previews = pv;
    }
  } finally {
    for (const s of Object.values(sidecars)) await stop(s);
  }
  if (COLD > 0) {
    const cr: Record<string, ColdRun[]> = {};
    const coldCases = CASES.filter((c) => c.name === 'teacher' || c.name === 'guided-4');
    const skipped = new Set<string>();
    for (const c of coldCases) {
      for (const viaWarmup of [false, true]) {
        for (let k = 0; k < COLD; k++) {
          for (const tree of Object.keys(TREES)) {
            const key = `${tree} ${c.name} ${viaWarmup ? 'warmup' : 'at once'}`;
            if (skipped.has(key)) continue;
            const run = await coldOnce(tree, c, viaWarmup);
            if (run) (cr[key] ??= []).push(run);
            else skipped.add(key);
          }
          process.stderr.write(`\rcold: ${c.name} ${viaWarmup ? 'after warmup' : 'at once'} ${k + 1}/${COLD}   `);
        }
      }
    }
    process.stderr.write('\n');
    console.log('\nCold: the first request of a fresh sidecar (ms, min / median; "/ warm": against the same tree\'s warm request of the run above):');
    console.log('| tree | model | how | serve start | warmup | first request | / warm (min, median) | its ORT | its arithmetic | its job path | its load (sessions) |');
    console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const c of coldCases) {
      for (const tree of Object.keys(TREES)) {
        for (const how of ['at once', 'warmup']) {
          const runs = cr[`${tree} ${c.name} ${how}`];
          if (!runs) continue;
          const part = (p: keyof JobTimings) => (runs.every((r) => r.sample.timings?.[p] !== undefined) ? mm(minMedian(runs.map((r) => r.sample.timings![p]!))) : '–');
          const first = summary(runs.map((r) => r.sample)).wallMs;
          const w = warmSamples[tree]?.[c.name] && summary(warmSamples[tree][c.name]).wallMs;
          const ratio = w ? `${(first.min / w.min).toFixed(1)}x, ${(first.median / w.median).toFixed(1)}x` : '';
          const label = how === 'at once' ? 'at once' : `after warmup (${runs[0].warmupWith === 'settings' ? "the request's settings" : 'model only'})`;
          const wu = how === 'warmup' ? mm(minMedian(runs.map((r) => r.warmupMs!))) : '–';
          console.log(`| ${tree} | ${c.name} | ${label} | ${mm(minMedian(runs.map((r) => r.startMs)))} | ${wu} | ${mm(first)} | ${ratio} | ${part('ortMs')} | ${part('pipelineMs')} | ${part('jobPathMs')} | ${part('loadMs')} |`);
        }
      }
    }
    report.cold = cr;
  }
  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, JSON.stringify(report, null, 1));
  console.log(`\nwritten: ${JSON_OUT}`);
  rmSync(OUT, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
