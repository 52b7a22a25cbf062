import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ServerMessage, SidecarError } from '../../../src/protocol';
import { makeMalformed, rng } from './fuzz';
import { FIXTURE, startSidecar, stopSidecar } from './helpers';

const N = 10_000;

test(`${N} malformed or random messages: every one answered with a typed error, no crash`, async () => {
  const s = await startSidecar();
  try {
    const ws = new WebSocket(s.banner.url, { headers: { Authorization: `Bearer ${s.secret}` } });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const codes = new Map<string, number>();
    let replies = 0;
    let errors = 0;
    const allAnswered = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const m = ServerMessage.parse(JSON.parse(data.toString()));
        if (m.type === 'error') {
          errors++;
          codes.set(m.code, (codes.get(m.code) ?? 0) + 1);
          assert.ok(m.message.length > 0);
        } else if (m.type === 'reply') replies++;
        if (errors + replies === N) resolve();
      });
    });
    const r = rng(20261126);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) ws.send(makeMalformed(r, i));
    await allAnswered;
    const ms = performance.now() - t0;
    assert.equal(replies, 0, 'no malformed message may be taken as a valid request');
    assert.equal(errors, N);
    assert.equal(ws.readyState, WebSocket.OPEN, 'the connection stays open');
    // Still alive and serving, on the same connection and on others.
    assert.equal((await s.client.hello()).protocolVersion, 1);
    assert.equal(s.process.exitCode, null);
    console.log(`# fuzz: ${N} messages answered in ${ms.toFixed(0)} ms; codes ${JSON.stringify(Object.fromEntries(codes))}`);
    ws.close();
  } finally {
    await stopSidecar(s);
  }
});

test('an oversized frame closes only that connection (1009); the sidecar keeps serving', async () => {
  const s = await startSidecar();
  try {
    const ws = new WebSocket(s.banner.url, { headers: { Authorization: `Bearer ${s.secret}` } });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(3 * 1024 * 1024));
    assert.equal(await closed, 1009);
    assert.equal((await s.client.ping()).rttMs < 1000, true);
  } finally {
    await stopSidecar(s);
  }
});

test('1,000 well-formed requests naming nasty paths and unknown jobs: each answered with one typed error', async () => {
  const s = await startSidecar();
  try {
    const r = rng(7);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
    const paths = ['/dev/zero', '/dev/null', '/proc/self', '/proc/self/status', '/', '..', '~', 'x'.repeat(4000),
      '/tmp/' + 'a/'.repeat(1000), 'file:///etc', 'C:\\x', '\u202e', ' ', 'test/fixtures', '/etc/passwd'];
    // Output folders: absolute and impossible, so nothing is written anywhere (not even in the repository,
    // the sidecar's working directory) even when the model is a good one.
    const outs = ['/dev/zero', '/dev/null', '/proc/ds-fuzz/x', '/etc/passwd/x', '/dev/null/x'];
    const codes = new Map<string, number>();
    const requests = Array.from({ length: 1000 }, (_, i) => {
      const k = i % 5;
      if (k === 0) return s.client.generate({ model: pick([...paths, FIXTURE]), prompt: 'x', steps: 1, outputDir: pick(outs) });
      if (k === 1) return s.client.generate({ model: pick(paths), prompt: 'x', initImage: pick(paths) });
      if (k === 2) return s.client.edit({ model: pick(paths), image: pick(paths), prompt: 'x' });
      if (k === 3) return s.client.distill({ teacher: pick(paths), outputDir: pick(outs), method: 'guided' });
      return pick([() => s.client.cancel(`job-${i}`), () => s.client.jobStatus(pick(paths))])();
    });
    const outcomes = await Promise.allSettled(requests);
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected', 'no nasty request may succeed');
      const e = (o as PromiseRejectedResult).reason as SidecarError;
      assert.ok(e instanceof SidecarError, String(e));
      assert.notEqual(e.code, 'timeout');
      assert.notEqual(e.code, 'internal', e.message);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    }
    console.log(`# nasty requests: ${JSON.stringify(Object.fromEntries(codes))}`);
    assert.equal((await s.client.hello()).protocolVersion, 1);
  } finally {
    await stopSidecar(s);
  }
});
