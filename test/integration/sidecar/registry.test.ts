// The job registry decides what a sidecar offers: hello's jobKinds list exactly the kinds it holds, a
// kind it lacks is refused with not_available before anything is queued, and the kinds it holds still
// run. A real server (in this process, so it can be given a smaller registry), real WebSocket client,
// real worker thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOB_KINDS, SidecarClient, SidecarError } from '../../../src/protocol';
import { availableKinds, JOBS, type JobRegistry } from '../../../src/sidecar/jobs/registry';
import { ModelRegistry } from '../../../src/sidecar/server/models';
import { SidecarServer } from '../../../src/sidecar/server/server';
import { FIXTURE } from './helpers';

const SECRET = 'registry-test-secret-0123456789';

async function serve(jobs: JobRegistry): Promise<{ server: SidecarServer; client: SidecarClient }> {
  const server = await SidecarServer.start({
    host: '127.0.0.1',
    port: 0,
    secret: SECRET,
    provider: { provider: 'cpu', executionProviders: ['cpu'], deviceName: 'test CPU', ortVersion: 'test' },
    models: new ModelRegistry(),
    version: 'test',
    jobs,
  });
  return { server, client: await SidecarClient.connect({ url: server.url, secret: SECRET }) };
}

test('the default registry holds a handler for every job kind of the protocol', () => {
  assert.deepEqual(Object.keys(JOBS).sort(), [...JOB_KINDS].sort());
  assert.deepEqual(availableKinds(), { generate: true, edit: true, distill: true, xyplot: true });
});

test('a sidecar whose registry lacks edit and distill says so, refuses them with not_available, and still generates', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ds-registry-'));
  const { server, client } = await serve({ generate: JOBS.generate });
  try {
    assert.deepEqual((await client.hello()).jobKinds, { generate: true, edit: false, distill: false, xyplot: false });

    const refused = await client.distill({ teacher: FIXTURE, outputDir: join(out, 'student'), method: 'progressive' }).then(
      () => assert.fail('distill was accepted'),
      (e: SidecarError) => e,
    );
    assert.equal(refused.code, 'not_available');
    assert.match(refused.message, /cannot run distill jobs/);
    // Refused before the input checks, so nothing was made and nothing queued.
    assert.deepEqual(readdirSync(out), []);
    assert.deepEqual((await client.jobStatus()).jobs, []);

    const r = await (await client.generate({ model: FIXTURE, prompt: 'still here', steps: 1, outputDir: out })).done;
    assert.equal(r.files.length, 1);
    assert.ok(r.files[0].path.startsWith(out));
  } finally {
    client.close();
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});
