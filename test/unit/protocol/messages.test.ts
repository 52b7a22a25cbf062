import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERROR_CODES,
  GenerateParams,
  PROTOCOL_VERSION,
  REPLY_RESULTS,
  Request,
  SAMPLER_IDS,
  SAMPLERS,
  ServerMessage,
} from '../../../src/protocol';

test('each request type the issue asks for parses in its minimal form and has a reply schema; other types do not parse', () => {
  const minimal: Record<string, Record<string, unknown>> = {
    hello: {}, listModels: {}, ping: {}, shutdown: {}, jobStatus: {}, cancel: { jobId: 'j' },
    generate: { params: { model: 'm', prompt: 'x' } },
    edit: { params: { model: 'm', image: 'a.png', prompt: 'x' } },
    distill: { params: { teacher: 't', outputDir: 'o', method: 'guided' } },
  };
  for (const [type, body] of Object.entries(minimal)) {
    const r = Request.safeParse({ v: PROTOCOL_VERSION, id: '1', type, ...body });
    assert.equal(r.success, true, `${type}: ${r.error?.message}`);
    assert.ok(REPLY_RESULTS[type as keyof typeof REPLY_RESULTS].safeParse !== undefined, `${type} has a reply schema`);
  }
  assert.equal(Request.safeParse({ v: PROTOCOL_VERSION, id: '1', type: 'train' }).success, false);
});

test('generate.scheduler accepts exactly the sampler table\'s ids, A1111 names and aliases, read as the id', () => {
  const gen = (scheduler: unknown) => GenerateParams.safeParse({ model: 'm', prompt: 'x', scheduler });
  for (const s of SAMPLERS) {
    for (const name of [s.id, s.label, s.label.toLowerCase(), ...s.aliases]) {
      const r = gen(name);
      assert.equal(r.success && r.data.scheduler, s.id, name);
    }
  }
  for (const bad of ['k_dpm_fast', 'euler a karras', '', 'ddim ddpm', 42, null]) {
    const r = gen(bad);
    assert.equal(r.success, false, String(bad));
  }
  const r = gen('warp-drive');
  assert.ok(!r.success);
  const message = r.error.issues[0].message;
  assert.deepEqual(r.error.issues[0].path, ['scheduler']);
  assert.match(message, /unknown scheduler "warp-drive"/);
  for (const id of SAMPLER_IDS) assert.ok(message.includes(id), `${id} missing from: ${message}`);
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
