// The generate / models / info commands, run as a user would (a child process, from source through tsx).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const fixtures = join(root, 'test', 'fixtures');
const cli = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(root, 'src', 'sidecar', 'cli', 'main.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DIFFUSION_STUDIO_MODELS: '' },
  });
const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at /);

test('generate writes PNGs into ./outputs by default and info reads their parameters back', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
  const r = cli(cwd, 'generate', 'a red cat', '--model', join(fixtures, 'tiny-sd'), '--steps', '3', '--seed', '9', '--negative', 'dog', '--device', 'cpu');
  assert.equal(r.status, 0, r.stderr);
  const file = join(cwd, 'outputs', '9-a-red-cat.png');
  assert.equal(r.stdout.trim(), file);
  assert.ok(existsSync(file));
  const info = cli(cwd, 'info', file, '--json');
  assert.equal(info.status, 0, info.stderr);
  const p = JSON.parse(info.stdout) as { prompt: string; negativePrompt: string; fields: Record<string, string> };
  assert.equal(p.prompt, 'a red cat');
  assert.equal(p.negativePrompt, 'dog');
  assert.equal(p.fields.Seed, '9');
});

test('models lists folders from --models-dir, and generate finds a model there by name', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
  const r = cli(cwd, 'models', '--models-dir', fixtures, '--json');
  assert.equal(r.status, 0, r.stderr);
  const names = (JSON.parse(r.stdout) as { models: Array<{ name: string }> }).models.map((m) => m.name);
  assert.ok(names.includes('tiny-sd') && names.includes('tiny-sd-guided'));
  const g = cli(cwd, 'generate', 'a cat', '--model', 'tiny-sd-guided', '--models-dir', fixtures, '--json', '--seed', '1', '--device', 'cpu');
  assert.equal(g.status, 0, g.stderr);
  assert.equal((JSON.parse(g.stdout) as { metadata: Array<{ steps: number }> }).metadata[0].steps, 4);
});

test('bad arguments: a clear message, a non-zero exit, no stack trace', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
  const tiny = join(fixtures, 'tiny-sd');
  for (const [args, message] of [
    [['generate', 'x', '--model', tiny, '--steps', 'abc'], /--steps must be a whole number/],
    [['generate', 'x', '--model', tiny, '--guidance', 'lots'], /--guidance must be a number/],
    [['generate', 'x', '--model', tiny, '--scheduler', 'k_dpm_fast', '--device', 'cpu'], /unknown scheduler "k_dpm_fast"/], // 'plms' is a sampler since issue 14
    [['generate', 'x', '--model', 'no-such-model', '--device', 'cpu'], /no such model folder or model name/],
    [['generate', 'x', '--model', tiny, '--width', '30', '--device', 'cpu'], /width must be a multiple of 8/],
    [['info', join(cwd, 'missing.png')], /cannot be read/],
  ] as const) {
    const r = cli(cwd, ...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, message);
    noStack(r.stderr);
  }
});

const embedded = join(root, 'models', 'emoji-styles', 'model_index.json');
test('with no --model, generate uses the embedded emoji-styles and its defaults', { skip: !existsSync(embedded) && 'models/emoji-styles is not there yet' }, () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
  const r = cli(cwd, 'generate', 'a red heart', '--seed', '7', '--json', '--device', 'cpu');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { files: string[]; metadata: Array<{ model: string; width: number; steps: number }> };
  assert.equal(out.metadata[0].model, 'emoji-styles');
  assert.equal(out.metadata[0].width, 64);
  assert.equal(out.metadata[0].steps, 20, 'the model folder\'s own defaults');
  assert.ok(existsSync(out.files[0]));
});
