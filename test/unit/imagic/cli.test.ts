// The `edit` command line: eta parsing, refusals with clear messages, and a real run through the
// built command on the tiny fixture (files printed, parameters embedded, input untouched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEtas, register } from '../../../src/sidecar/cli/commands/edit';
import { UserError } from '../../../src/sidecar/cli/errors';
import { readTextChunks } from '../../../src/sidecar/io/png-metadata';
import { SWEEP_ETAS } from '../../../src/sidecar/pipelines/imagic/imagic';

const fixtures = join(__dirname, '..', '..', 'fixtures');

test('--eta takes one value or a list; --sweep gives the standard sweep; both at once is refused', () => {
  assert.deepEqual(parseEtas(undefined, undefined), [0.7]);
  assert.deepEqual(parseEtas('0.3', undefined), [0.3]);
  assert.deepEqual(parseEtas('0,0.5,1', undefined), [0, 0.5, 1]);
  assert.deepEqual(parseEtas(undefined, true), SWEEP_ETAS);
  assert.throws(() => parseEtas('0.5', true), (e: unknown) => e instanceof UserError && /either --eta or --sweep/.test(e.message));
  assert.throws(() => parseEtas('a lot', undefined), /--eta must be a number, got "a lot"/);
});

async function run(args: string[]): Promise<string[]> {
  const program = new Command().exitOverride();
  register(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await program.parseAsync(['node', 'diffusion-studio', 'edit', ...args]);
  } finally {
    console.log = log;
  }
  return lines;
}

test('edit writes the PNGs it prints; a bad image or eta is a UserError naming the problem', async () => {
  const image = join(fixtures, 'images', 'grey.png');
  const before = createHash('sha256').update(readFileSync(image)).digest('hex');
  const out = mkdtempSync(join(tmpdir(), 'edit-cli-'));
  const common = ['--model', join(fixtures, 'tiny-sd'), '--out', out, '--cache-dir', mkdtempSync(join(tmpdir(), 'edit-cache-')), '--embedding-steps', '3', '--finetune-steps', '3', '--steps', '3', '--seed', '9'];
  const lines = await run([image, 'a red cat', '--eta', '0.4', ...common]);
  assert.equal(lines.length, 1);
  assert.match(readTextChunks(readFileSync(lines[0])).parameters, /Imagic eta: 0\.4/);
  assert.equal(createHash('sha256').update(readFileSync(image)).digest('hex'), before);
  await assert.rejects(run([join(fixtures, 'images', 'not-an-image.png'), 'x', ...common]), (e: unknown) => e instanceof UserError && /not-an-image\.png: is not an image/.test(e.message));
  await assert.rejects(run([image, 'x', '--eta', '5', ...common]), (e: unknown) => e instanceof UserError && /eta must be a number from 0 to 2, got 5/.test(e.message));
  await assert.rejects(run([image, 'x', '--tune', 'half', ...common]), (e: unknown) => e instanceof UserError && /--tune must be auto, full or lora/.test(e.message));
});
