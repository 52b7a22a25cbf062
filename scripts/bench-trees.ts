/**
 * `npx tsx scripts/bench-trees.ts --ref <other checkout> [--runs 25] [--block 5] [--steps 64] [--guidance 7.5]
 *   [--model <name|dir>] [--schedulers ddim,dpm++2m,euler-a] [--threads 1]`
 *
 * The generation pipeline of THIS checkout against another one (e.g. the commit before a refactor, made
 * with `git worktree add /tmp/ref <commit>` and its node_modules linked), measured the same way in the
 * same run: a warm textToImage in a child process per tree, single-image requests, blocks of --block runs
 * alternating between the trees so that a change in the machine's load falls on both. Prints, per
 * scheduler and tree, the best and median wall time per image, the best and median share of it spent
 * outside ONNX Runtime (each run's own (total - ORT) / total), the ratio this / ref, and whether the two
 * trees wrote the same pixels.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const refTree = opt('ref');
if (!refTree) throw new Error('--ref <other checkout> is required');
const trees = { this: resolve(__dirname, '..'), ref: resolve(refTree) };
const runs = Number(opt('runs', '25'));
const block = Number(opt('block', '5'));
const schedulers = opt('schedulers', 'ddim,dpm++2m,euler-a')!.split(',');
const setting = { steps: Number(opt('steps', '64')), guidance: Number(opt('guidance', '7.5')), model: opt('model', 'emoji-base')!, threads: Number(opt('threads', '1')) };

interface Run {
  totalMs: number;
  ortMs: number;
  pixels: string;
}

/** The child: imports the tree's own pipeline, warms it up once, then times `n` single-image requests. */
const CHILD = `
const { textToImage } = require('./src/sidecar/pipelines/text-to-image');
const { createHash } = require('node:crypto');
const sharp = require('sharp');
const [scheduler, n, out, steps, guidance, model, threads] = process.argv.slice(1);
(async () => {
  const request = { model, prompt: 'a graceful swan', steps: Number(steps), guidanceScale: Number(guidance), scheduler, seed: 7, out };
  const options = { intraOpNumThreads: Number(threads) };
  await textToImage(request, options);
  const runs = [];
  for (let i = 0; i < Number(n); i++) {
    const t = performance.now();
    const r = await textToImage(request, options);
    const totalMs = performance.now() - t;
    const raw = await sharp(r.files[0]).raw().toBuffer();
    runs.push({ totalMs, ortMs: r.timings.ortMs, pixels: createHash('sha256').update(raw).digest('hex').slice(0, 12) });
  }
  process.stdout.write(JSON.stringify(runs));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function measure(tree: string, scheduler: string, n: number): Promise<Run[]> {
  const out = mkdtempSync(join(tmpdir(), 'bench-trees-'));
  const argv = ['--import', 'tsx', '-e', CHILD, scheduler, String(n), out, String(setting.steps), String(setting.guidance), setting.model, String(setting.threads)];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, argv, { cwd: tree, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(text) as Run[]) : reject(new Error(`${tree}: exit ${code}`))));
  });
}

const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const share = (r: Run) => (100 * (r.totalMs - r.ortMs)) / r.totalMs;

async function main(): Promise<void> {
  console.log(`${setting.model}, ${setting.steps} steps, guidance ${setting.guidance}, ${setting.threads} intra-op thread(s), ${runs} runs per tree in blocks of ${block}`);
  console.log('| scheduler | tree | best ms | median ms | outside ORT best / median | best this/ref | same pixels |');
  console.log('|---|---|---:|---:|---:|---:|---|');
  for (const scheduler of schedulers) {
    const got: Record<keyof typeof trees, Run[]> = { this: [], ref: [] };
    for (let done = 0; done < runs; done += block) {
      for (const name of ['ref', 'this'] as const) got[name].push(...(await measure(trees[name], scheduler, Math.min(block, runs - done))));
    }
    const same = new Set([...got.this, ...got.ref].map((r) => r.pixels)).size === 1;
    for (const name of ['ref', 'this'] as const) {
      const t = got[name].map((r) => r.totalMs), s = got[name].map(share);
      const ratio = name === 'this' ? (best(t) / best(got.ref.map((r) => r.totalMs))).toFixed(3) : '';
      console.log(`| ${scheduler} | ${name} | ${best(t).toFixed(1)} | ${median(t).toFixed(1)} | ${best(s).toFixed(2)}% / ${median(s).toFixed(2)}% | ${ratio} | ${name === 'this' ? (same ? 'yes' : 'NO') : ''} |`);
    }
  }
}

void main();
