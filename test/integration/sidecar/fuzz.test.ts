import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ServerMessage } from '../../../src/protocol';
import { makeMalformed, rng } from './fuzz';
import { startSidecar, stopSidecar } from './helpers';

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
