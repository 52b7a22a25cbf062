/**
 * `npm run bench:latency -- [--runs 25] [--warmup 3] [--cold 5] [--preview-runs 15] [--ref <checkout>]
 *   [--models teacher,guided-1,guided-2,guided-4,guided-8] [--no-build] [--json <file>]`
 *
 * Latency as the user sees it: a real sidecar (`node dist/cli.js serve`, the bundle the extension runs,
 * built first with scripts/build.mjs), one `generate` request at a time over a real WebSocket, timed from
 * sending the request to the `result` event. Single images, guidance 3: the teacher (emoji-base, 64
 * DDIM steps, guided: a batch of two per step) and each shipped guided student at its own step count.
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
 * - cold: --cold fresh sidecars per case; the first request right after connecting, and (trees that
 *   know the `warmup` request) after a `warmup` of the model, which is what the extension sends.
 *
 * Prints tables (min and median over the runs) and writes JSON (every run) to --json
 * (default outputs/bench-latency.json). The machine may be shared: compare ratios from the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { launchSidecar, type GenerateParams, type JobTimings, type LaunchedSidecar, type SidecarClient } from '../src/protocol';

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
const JSON_OUT = resolve(opt('json', join(ROOT, 'outputs', 'bench-latency.json')));
const TREES: Record<string, string> = { this: ROOT, ...(args.includes('--ref') ? { ref: resolve(opt('ref', '')) } : {}) };
const OUT = mkdtempSync(join(tmpdir(), 'ds-bench-latency-'));

interface Case {
  name: string;
  params: Omit<GenerateParams, 'outputDir' | 'seed'>;
}
const ALL_CASES: Case[] = [
  { name: 'teacher', params: { model: 'emoji-base', prompt: 'a smiling cat face', steps: 64, scheduler: 'ddim', guidanceScale: 3 } },
  ...[8, 4, 2, 1].map((n) => ({ name: `guided-${n}`, params: { model: `emoji-guided-${n}`, prompt: 'a smiling cat face', guidanceScale: 3 } })),
];
const wanted = opt('models', ALL_CASES.map((c) => c.name).join(',')).split(',');
const CASES = ALL_CASES.filter((c) => wanted.includes(c.name));

/** One measured request: the client's wall time and the sidecar's breakdown (absent from old trees). */
interface Sample {
  wallMs: number;
  timings?: JobTimings;
}

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
  const job = await client.generate({ ...c.params, ...extra, seed: seed++, outputDir });
  const r = await job.done;
  return { wallMs: t1 - t0, timings: r.timings };
}

const PARTS = ['ortMs', 'loadMs', 'pipelineMs', 'pngMs', 'filesMs', 'jobPathMs'] as const;

/** The samples' summary: min and median of the wall time, of each part, and of what lies outside the pipeline. */
function summary(samples: Sample[]) {
  const stat = (xs: number[]) => ({ min: Math.min(...xs), median: median(xs) });
  const out: Record<string, { min: number; median: number }> = { wallMs: stat(samples.map((s) => s.wallMs)) };
  const withT = samples.filter((s) => s.timings?.jobPathMs !== undefined);
  if (withT.length === samples.length) {
    for (const p of PARTS) out[p] = stat(withT.map((s) => s.timings![p]!));
    out.transportMs = stat(withT.map((s) => s.wallMs - s.timings!.serverMs!));
    out.outsidePipelineMs = stat(withT.map(outsidePipeline));
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

/** Fresh sidecars: the first request at once, and (where the tree knows it) after a warmup request. */
async function cold(tree: string, c: Case, viaWarmup: boolean) {
  const runs: { startMs: number; warmupMs?: number; sample: Sample }[] = [];
  for (let k = 0; k < COLD; k++) {
    const t0 = performance.now();
    const s = await start(TREES[tree]);
    const startMs = performance.now() - t0;
    try {
      let warmupMs: number | undefined;
      if (viaWarmup) {
        const tw = performance.now();
        await s.client.request('warmup' as never, { model: c.params.model } as never);
        warmupMs = performance.now() - tw;
      }
      runs.push({ startMs, warmupMs, sample: await timed(s.client, tree, c) });
    } finally {
      await stop(s);
    }
  }
  return runs;
}

async function stop(s: LaunchedSidecar): Promise<void> {
  const exited = new Promise((r) => s.process.once('exit', r));
  await s.client.shutdown().catch(() => s.process.kill('SIGKILL'));
  await exited;
}

const f = (x: number) => (x >= 100 ? x.toFixed(1) : x.toFixed(2));
const mm = (s: { min: number; median: number } | undefined) => (s ? `${f(s.min)} / ${f(s.median)}` : '–');

async function main(): Promise<void> {
  for (const tree of Object.values(TREES)) build(tree);
  const sidecars: Record<string, LaunchedSidecar> = {};
  for (const [name, tree] of Object.entries(TREES)) sidecars[name] = await start(tree);
  const report: Record<string, unknown> = { date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, trees: TREES };
  try {
    const samples = await warm(sidecars);
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
    console.log('\nCold: the first request of a fresh sidecar (ms, min / median):');
    console.log('| tree | model | how | serve start | warmup | first request | load (sessions) |');
    console.log('|---|---|---|---:|---:|---:|---:|');
    const cr: Record<string, unknown> = {};
    const coldCases = CASES.filter((c) => c.name === 'teacher' || c.name === 'guided-4');
    for (const tree of Object.keys(TREES)) {
      for (const c of coldCases) {
        for (const viaWarmup of tree === 'this' ? [false, true] : [false]) {
          const runs = await cold(tree, c, viaWarmup);
          cr[`${tree} ${c.name} ${viaWarmup ? 'warmup' : 'at once'}`] = runs;
          const st = (xs: number[]) => ({ min: Math.min(...xs), median: median(xs) });
          const load = runs.every((r) => r.sample.timings?.loadMs !== undefined) ? mm(st(runs.map((r) => r.sample.timings!.loadMs!))) : '–';
          const w = viaWarmup ? mm(st(runs.map((r) => r.warmupMs!))) : '–';
          console.log(`| ${tree} | ${c.name} | ${viaWarmup ? 'after warmup' : 'at once'} | ${mm(st(runs.map((r) => r.startMs)))} | ${w} | ${mm(summary(runs.map((r) => r.sample)).wallMs)} | ${load} |`);
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
