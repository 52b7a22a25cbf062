import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERROR_CODES,
  GenerateParams,
  PROTOCOL_VERSION,
  REPLY_RESULTS,
  REQUEST_TYPES,
  Request,
  ServerMessage,
} from '../../../src/protocol';

test('every request type the issue asks for exists', () => {
  for (const t of ['hello', 'listModels', 'generate', 'edit', 'distill', 'cancel', 'jobStatus', 'ping', 'shutdown']) {
    assert.ok(REQUEST_TYPES.includes(t as never), t);
    assert.ok(t in REPLY_RESULTS, `${t} has a reply schema`);
  }
});

test('valid requests parse; unknown keys, NaN, Infinity and out-of-range values do not', () => {
  const gen = { v: PROTOCOL_VERSION, id: '1', type: 'generate', params: { model: 'emoji-base', prompt: 'a cat', steps: 4 } };
  assert.equal(Request.safeParse(gen).success, true);
  assert.equal(Request.safeParse({ ...gen, extra: 1 }).success, false);
  for (const steps of [NaN, Infinity, 0, 1001, 2.5, -1]) {
    assert.equal(Request.safeParse({ ...gen, params: { ...gen.params, steps } }).success, false, String(steps));
  }
  assert.equal(GenerateParams.safeParse({ model: 'm', prompt: 'x', strength: 0 }).success, false);
  assert.equal(GenerateParams.safeParse({ model: 'a\0b', prompt: 'x' }).success, false, 'NUL in a path');
  assert.equal(Request.safeParse({ v: 2, id: '1', type: 'ping' }).success, false, 'other protocol version');
});

test('server messages: events and typed errors round-trip through the schema', () => {
  const msgs = [
    { v: 1, type: 'progress', jobId: 'job-1', stage: 'denoise', step: 3, total: 10, etaMs: 1200, preview: 'iVBORw0KGgo=' },
    { v: 1, type: 'result', jobId: 'job-1', files: [{ path: '/tmp/a.png', kind: 'image', width: 64, height: 64 }], metadata: { seed: 1 } },
    { v: 1, type: 'log', level: 'info', message: 'hi' },
    { v: 1, type: 'error', id: '3', code: 'invalid_params', message: 'generate.params.steps: too big', field: 'params.steps' },
    { v: 1, type: 'reply', id: '1', request: 'ping', result: { time: 1, rss: 2 } },
  ];
  for (const m of msgs) assert.deepEqual(ServerMessage.parse(m), m);
  // Read leniently: a newer sidecar's extra fields are dropped and its unknown codes read as 'internal'.
  const newer = ServerMessage.parse({ v: 1, type: 'error', code: 'no_such_code', message: 'x', hint: 'y' });
  assert.deepEqual(newer, { v: 1, type: 'error', code: 'internal', message: 'x' });
  assert.equal(ServerMessage.safeParse({ v: 2, type: 'log', level: 'info', message: 'x' }).success, false, 'another major version');
  assert.ok(ERROR_CODES.includes('connection_lost'));
});
