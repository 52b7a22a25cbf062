/**
 * The floor under the job path (bench-latency's `--floor-runs`): what the parts a request must cross
 * cost on this machine with no sidecar code in them at all, so the measured "outside pipeline" figure
 * can be read against what an implementation of the same design could hope for.
 *
 * - WebSocket: a bare `ws` server in another process gets a request-sized JSON text, parses it, lets
 *   `gapMs` pass (the pipeline's time between a request and its result) and answers a result-sized JSON
 *   text, which the client parses. The round trip less the measured gap.
 * - worker thread: the same through postMessage to a worker thread and back (structured clone).
 * - files: a PNG-sized file staged and published by the sidecar's own StagedImages ('wx' write under a
 *   partial name, exclusive hard link under the final one, the partial name removed), `gapMs` after
 *   the last.
 *
 * Two ways to spend the gap: 'idle' (the other side sleeps: every wake-up is paid, but the caches keep
 * what the parts use; a lower bound) and 'busy' (it loops over a 4 MB array, so the parts' code and
 * data are as cold as after a small UNet's run, or colder).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { StagedImages } from '../src/sidecar/jobs/staging';

export type GapMode = 'idle' | 'busy';

export interface FloorOptions {
  runs: number;
  /** Time between the two halves of each try (ms), spent as `mode` says. */
  gapMs: number;
  mode: GapMode;
  requestText: string;
  resultText: string;
  pngBytes: number;
}

export interface FloorSamples {
  webSocket: number[];
  workerThread: number[];
  files: number[];
}

/**
 * Spends `ms` milliseconds: sleeping (Atomics.wait, the thread is descheduled) or touching 4 MB.
 * Returns the time it took (never less than `ms`).
 */
function work(ms: number, mode: string): number {
  const t0 = performance.now();
  if (ms > 0 && mode === 'idle') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  if (ms > 0 && mode !== 'idle') {
    const a = new Float32Array(1 << 20);
    let x = 0;
    while (performance.now() - t0 < ms) for (let i = 0; i < a.length; i += 16) x += a[i]++;
    (globalThis as { floorSink?: number }).floorSink = x;
  }
  return performance.now() - t0;
}

const SERVER = `
const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
${work.toString()}
const [gap, mode, result] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => process.send(wss.address().port));
wss.on('connection', (s) => s.on('message', (d) => {
  JSON.parse(d.toString());
  const worked = work(gap, mode);
  s.send(JSON.stringify({ ...JSON.parse(result), worked }));
}));`;

async function webSocket(o: FloorOptions): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-floor-ws-'));
  const file = join(dir, 'server.js');
  writeFileSync(file, SERVER);
  const child = fork(file, [String(o.gapMs), o.mode, o.resultText]);
  try {
    const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const out: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      const worked = await new Promise<number>((resolve) => {
        ws.once('message', (d) => resolve((JSON.parse(d.toString()) as { worked: number }).worked));
        ws.send(o.requestText);
      });
      out.push(performance.now() - t0 - worked);
    }
    ws.close();
    return out;
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function workerThread(o: FloorOptions): Promise<number[]> {
  const w = new Worker(`${work.toString()}
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => { const worked = work(m.gap, m.mode); parentPort.postMessage({ result: m.result, worked }); });`, { eval: true });
  try {
    const request = JSON.parse(o.requestText) as object, result = JSON.parse(o.resultText) as object;
    const out: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      const worked = await new Promise<number>((resolve) => {
        w.once('message', (m: { worked: number }) => resolve(m.worked));
        w.postMessage({ request, result, gap: o.gapMs, mode: o.mode });
      });
      out.push(performance.now() - t0 - worked);
    }
    return out;
  } finally {
    await w.terminate();
  }
}

function files(o: FloorOptions): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'ds-floor-files-'));
  const png = Buffer.alloc(o.pngBytes, 7);
  const out: number[] = [];
  try {
    for (let i = 0; i < o.runs; i++) {
      work(o.gapMs, o.mode);
      const t0 = performance.now();
      const stage = new StagedImages(dir, join(dir, `.partial-floor-${i}`));
      stage.write(join(dir, '1-a-smiling-cat-face.png'), png);
      stage.publish();
      out.push(performance.now() - t0);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureFloor(o: FloorOptions): Promise<FloorSamples> {
  return { webSocket: await webSocket(o), workerThread: await workerThread(o), files: files(o) };
}
