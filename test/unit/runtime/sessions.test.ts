// The one session cache (src/sidecar/runtime/sessions.ts) on real ONNX Runtime sessions of real model
// files: tiny models built with the graph builder, y = x * w with w filled with the model's number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, f32, init, saveModel } from '../../../src/sidecar/graph';
import { SessionCache, type OpenSession } from '../../../src/sidecar/runtime/sessions';

const root = mkdtempSync(join(tmpdir(), 'ds-sessions-'));

/** Saves y = x * w, w: float[n] filled with `value`, at `path` (weights in model.onnx_data, or the file named, if asked). */
function saveScale(path: string, value: number, n = 256, externalData: boolean | string = false): string {
  const g = new Graph();
  const w = g.param('w', [n], init.constant(value));
  g.output(g.mul(g.input('x', 'float32', [n]), w), 'y');
  saveModel(g, path, externalData ? { externalData: externalData === true ? 'model.onnx_data' : externalData, threshold: 0 } : {});
  return path;
}

function modelAt(name: string, value: number, n = 256, externalData: boolean | string = false): string {
  mkdirSync(join(root, name), { recursive: true });
  return saveScale(join(root, name, 'model.onnx'), value, n, externalData);
}

/** What a session computes for x = 1: the model's value. */
async function valueOf(s: ort.InferenceSession, n = 256): Promise<number> {
  return ((await s.run({ x: f32(new Array(n).fill(1), [n]) })).y.data as Float32Array)[0];
}

/** A real opener that remembers every session it made, so a test can see which were released. */
function recording(): { open: OpenSession; opened: Array<{ path: string; session: ort.InferenceSession }> } {
  const opened: Array<{ path: string; session: ort.InferenceSession }> = [];
  const open: OpenSession = async (path, options) => {
    const session = await ort.InferenceSession.create(path, options);
    opened.push({ path, session });
    return session;
  };
  return { open, opened };
}

/** Whether ONNX Runtime has released `s` (a released session refuses to run). */
async function released(s: ort.InferenceSession, n = 256): Promise<boolean> {
  await new Promise((r) => setImmediate(r));
  return valueOf(s, n).then(() => false, (e: Error) => /disposed/i.test(e.message));
}

test('the cache never holds more sessions than its count bound and releases what it evicts, least recently opened first', async () => {
  const { open, opened } = recording();
  const cache = new SessionCache({ maxEntries: 3, maxBytes: 1e12 }, open);
  const paths = [0, 1, 2, 3, 4].map((i) => modelAt(`count-${i}`, i));
  for (const [i, p] of paths.entries()) {
    assert.equal(await valueOf(await cache.get(p)), i);
    assert.ok(cache.size <= 3, `${cache.size} sessions held`);
    if (i === 2) await cache.get(paths[0]); // model 0 used again: model 1 is now the least recent
  }
  assert.equal(cache.size, 3);
  const state = await Promise.all(opened.map(async (o) => [o.path, await released(o.session)] as const));
  assert.deepEqual(state.filter(([, r]) => r).map(([p]) => p), [paths[1], paths[2]]);
  assert.equal(opened.length, 5, 'a cached model is not opened twice');
});

test('the cache never holds more model bytes than its byte bound, external data included', async () => {
  const { open, opened } = recording();
  const paths = [0, 1, 2, 3].map((i) => modelAt(`bytes-${i}`, i, 4096, true));
  const probe = new SessionCache({ maxEntries: 10, maxBytes: 1e12 });
  await probe.get(paths[0]);
  const one = probe.bytes; // model.onnx + model.onnx_data
  assert.ok(one > 4096 * 4, `one model counts ${one} bytes, its weights alone are ${4096 * 4}`);
  probe.clear();
  const cache = new SessionCache({ maxEntries: 10, maxBytes: Math.floor(2.5 * one) }, open);
  for (const p of paths) {
    await cache.get(p);
    assert.ok(cache.bytes <= cache.limits.maxBytes, `${cache.bytes} bytes held, bound ${cache.limits.maxBytes}`);
  }
  assert.equal(cache.size, 2);
  assert.deepEqual(await Promise.all(opened.map((o) => released(o.session, 4096))), [true, true, false, false]);
});

test('a replaced model file gets a new session and the old one is released', async () => {
  const { open, opened } = recording();
  const cache = new SessionCache({ maxEntries: 4, maxBytes: 1e12 }, open);
  const path = modelAt('replaced', 2);
  const before = await cache.get(path);
  assert.equal(await valueOf(before), 2);
  saveScale(path, 5);
  utimesSync(path, new Date(), new Date(Date.now() + 5000)); // as any later write would
  const after = await cache.get(path);
  assert.equal(await valueOf(after), 5);
  assert.equal(cache.size, 1);
  assert.equal(await released(opened[0].session), true);
  assert.equal(await valueOf(before), 5, 'a handle from before the change runs the current file');
});

test('changed external data (model.onnx_data alone) also gets a new session', async () => {
  const cache = new SessionCache({ maxEntries: 4, maxBytes: 1e12 });
  const path = modelAt('external', 3, 256, true);
  assert.equal(await valueOf(await cache.get(path)), 3);
  const graphFile = statSync(path);
  saveScale(path, 7, 256, true);
  utimesSync(path, graphFile.atime, graphFile.mtime); // model.onnx: the same bytes and, now, the same stamp
  utimesSync(`${path}_data`, new Date(), new Date(Date.now() + 5000));
  assert.equal(await valueOf(await cache.get(path)), 7);
  assert.equal(cache.size, 1);
});

test("weights in diffusers' weights.pb count towards the byte bound and, changed, get a new session", async () => {
  const cache = new SessionCache({ maxEntries: 4, maxBytes: 1e12 });
  const path = modelAt('weights-pb', 3, 4096, 'weights.pb');
  assert.equal(await valueOf(await cache.get(path), 4096), 3);
  assert.ok(cache.bytes > 4096 * 4, `the session counts ${cache.bytes} bytes, its weights alone are ${4096 * 4}`);
  const graphFile = statSync(path);
  saveScale(path, 8, 4096, 'weights.pb');
  utimesSync(path, graphFile.atime, graphFile.mtime);
  utimesSync(join(root, 'weights-pb', 'weights.pb'), new Date(), new Date(Date.now() + 5000));
  assert.equal(await valueOf(await cache.get(path), 4096), 8);
  assert.equal(cache.size, 1);
});

test('an evicted handle reopens its model on its next run; release() frees the session at once', async () => {
  const { open, opened } = recording();
  const cache = new SessionCache({ maxEntries: 1, maxBytes: 1e12 }, open);
  const a = await cache.get(modelAt('handle-a', 1));
  const b = await cache.get(modelAt('handle-b', 2)); // evicts a
  assert.equal(await released(opened[0].session), true);
  assert.equal(await valueOf(a), 1);
  assert.equal(opened.length, 3, 'a was opened again');
  await a.release();
  assert.equal(cache.size, 0);
  assert.equal(await released(opened[2].session), true);
  assert.equal(await valueOf(b), 2);
});

test('a run in flight finishes before its evicted session is released', async () => {
  const { open, opened } = recording();
  const cache = new SessionCache({ maxEntries: 2, maxBytes: 1e12 }, open);
  const s = await cache.get(modelAt('in-flight', 4));
  const run = valueOf(s);
  cache.clear();
  assert.equal(await run, 4);
  assert.equal(await released(opened[0].session), true);
});

test('sessions of the same file with different options are cached apart', async () => {
  const { open, opened } = recording();
  const cache = new SessionCache({ maxEntries: 4, maxBytes: 1e12 }, open);
  const path = modelAt('options', 6);
  await cache.get(path, { intraOpNumThreads: 1 });
  await cache.get(path, { intraOpNumThreads: 2 });
  await cache.get(path, { intraOpNumThreads: 1 });
  assert.equal(opened.length, 2);
  assert.equal(cache.size, 2);
});

test('a missing or broken model file is refused with its path, and nothing is kept', async () => {
  const cache = new SessionCache({ maxEntries: 4, maxBytes: 1e12 });
  const missing = join(root, 'nope', 'model.onnx');
  await assert.rejects(cache.get(missing), (e: Error) => e.message === `${missing}: is missing`);
  const broken = join(root, 'broken.onnx');
  writeFileSync(broken, 'not onnx');
  await assert.rejects(cache.get(broken), (e: Error) => e.message.startsWith(`${broken}: ONNX Runtime cannot load it`));
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.size, 0);
});

test('20 different models used in turn: the cache stays within its bounds and memory stays flat', async () => {
  const n = 1 << 20; // 4 MB of weights per model: 80 MB over all 20 if nothing were released
  const { open, opened } = recording();
  const cache = new SessionCache({ maxEntries: 3, maxBytes: 1e12 }, open);
  const paths = Array.from({ length: 20 }, (_, i) => modelAt(`many-${i}`, i, n));
  const rss: number[] = [];
  for (const [i, p] of paths.entries()) {
    assert.equal(await valueOf(await cache.get(p), n), i);
    assert.ok(cache.size <= 3 && cache.bytes <= 3 * (n * 4 + 4096), `${cache.size} sessions, ${cache.bytes} bytes`);
    rss.push(process.memoryUsage().rss);
  }
  const stillOpen = await Promise.all(opened.map(async (o) => !(await released(o.session, n))));
  assert.equal(stillOpen.filter(Boolean).length, 3);
  const growth = (rss[19] - rss[4]) / 2 ** 20;
  assert.ok(growth < 40, `RSS grew ${growth.toFixed(1)} MB from the 5th to the 20th model`);
});

test('every caller of the same (file, options) gets the same handle', async () => {
  const cache = new SessionCache({ maxEntries: 4, maxBytes: 1e12 });
  const path = modelAt('same-handle', 8);
  const [a, b] = await Promise.all([cache.get(path), cache.get(path)]);
  assert.equal(a, b);
  assert.notEqual(await cache.get(path, { intraOpNumThreads: 3 }), a);
});
