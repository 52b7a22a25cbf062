// Sampler names end to end: a name as a user types it goes in, the A1111 name comes out in the PNG's
// parameters, and reading that name back gives the same sampler (so "Re-run" and A1111-style tools agree).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSampler, SAMPLERS } from '../../../src/protocol/samplers';
import { parseParameters, readTextChunks } from '../../../src/sidecar/io/png-metadata';
import { textToImage } from '../../../src/sidecar/pipelines/text-to-image';

const root = join(__dirname, '..', '..', '..');
const tinySd = join(root, 'test', 'fixtures', 'tiny-sd');
const cli = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(root, 'src', 'sidecar', 'cli', 'main.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DIFFUSION_STUDIO_MODELS: '' },
  });

test('every sampler, asked for by its A1111 name, writes that name into the PNG and it reads back as the same id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'samplers-'));
  for (const s of SAMPLERS) {
    const r = await textToImage({ model: tinySd, prompt: 'a cat', steps: 2, seed: 1, scheduler: s.label, out: join(dir, `${s.id}.png`) });
    const p = parseParameters(readTextChunks(readFileSync(r.files[0])).parameters ?? '');
    assert.equal(p.fields.Sampler, s.label, s.id);
    assert.equal(parseSampler(p.fields.Sampler), s.id);
  }
});

test('CLI: --scheduler "Euler a" generates with Euler a, and info reports it', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
  const g = cli(cwd, 'generate', 'a cat', '--model', tinySd, '--steps', '2', '--seed', '3', '--scheduler', 'Euler a', '--device', 'cpu');
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stderr, /2 steps of Euler a/);
  const info = cli(cwd, 'info', g.stdout.trim(), '--json');
  assert.equal(info.status, 0, info.stderr);
  assert.equal((JSON.parse(info.stdout) as { fields: Record<string, string> }).fields.Sampler, 'Euler a');
});

test('CLI: an unknown scheduler is one line naming the valid ids, exit code non-zero', () => {
  const r = cli(mkdtempSync(join(tmpdir(), 'cli-')), 'generate', 'x', '--model', tinySd, '--scheduler', 'k_dpm_fast', '--device', 'cpu'); // 'plms' is a sampler since issue 14
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown scheduler "k_dpm_fast" \(choose one of ddim, ddpm, pndm, euler, euler_karras, euler_a, lms, heun, dpmpp_2m, dpmpp_2m_karras, dpmpp_2m_sde, unipc, lcm/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('CLI help lists the sampler ids and the shared defaults', () => {
  const r = cli(root, 'generate', '--help');
  assert.equal(r.status, 0, r.stderr);
  const help = r.stdout.replace(/\s+/g, ' ');
  for (const s of SAMPLERS) assert.ok(help.includes(s.id), `${s.id} missing from generate --help`);
  assert.match(help, /default: the model's, else 20\)/);
  assert.match(help, /default: the model's, else dpmpp_2m\)/);
});
