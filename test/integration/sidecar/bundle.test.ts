import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchSidecar } from '../../../src/protocol';
import { FIXTURE, ROOT } from './helpers';

// The extension runs `node dist/cli.js serve`, whose jobs run on dist/worker.js: test that pair, from a
// working directory outside the repository, as `npm run build` made it.
test('the bundled sidecar (bin -> dist/cli.js) runs a job on the bundled worker', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ds-bundle-'));
  const s = await launchSidecar({ command: [process.execPath, join(ROOT, 'bin', 'diffusion-studio.js')], args: ['--device', 'cpu'], cwd: out });
  try {
    const caps = await s.client.hello();
    assert.deepEqual(caps.jobKinds, { generate: true, edit: true, distill: true, xyplot: true });
    const r = await (await s.client.generate({ model: FIXTURE, prompt: 'from the bundle', steps: 2, outputDir: out })).done;
    assert.equal(r.files.length, 1);
    assert.ok(r.files[0].path.startsWith(out));
  } finally {
    s.process.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});
