// Corrupt model folders, each made in a temp folder from the tiny fixture: the command line and the
// sidecar must each give one line naming the broken file, never a stack trace or a bare ORT message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph } from '../../../src/sidecar/graph/graph';
import { toOnnx } from '../../../src/sidecar/graph/onnx';
import { CLI, FIXTURE, ROOT, startSidecar, stopSidecar } from './helpers';

/** A text encoder taking float32 ids where int64 tokens are expected (and giving 1 channel). */
function wrongDtypeEncoder(): Uint8Array {
  const g = new Graph({ opset: 13 });
  g.output(g.unsqueeze(g.input('input_ids', 'float32', [1, 77]), [2]), 'last_hidden_state');
  return toOnnx(g);
}

interface Corruption {
  name: string;
  /** The file the message must name, relative to the model folder. */
  file: string;
  /** What the message must say about it. */
  says: RegExp;
  make(dir: string): void;
}

const CORRUPTIONS: Corruption[] = [
  { name: 'truncated ONNX', file: 'text_encoder/model.onnx', says: /cannot load it.*Protobuf parsing failed/, make: (d) => truncateSync(join(d, 'text_encoder/model.onnx'), Math.floor(readFileSync(join(d, 'text_encoder/model.onnx')).length / 2)) },
  { name: 'wrong dtypes', file: 'text_encoder/model.onnx', says: /"input_ids" is float32; expected int64/, make: (d) => writeFileSync(join(d, 'text_encoder/model.onnx'), wrongDtypeEncoder()) },
  { name: 'missing external data', file: 'unet/model.onnx_data', says: /model\.onnx_data: is missing \(.*unet\/model\.onnx keeps its weights in it\)$/, make: (d) => unlinkSync(join(d, 'unet/model.onnx_data')) },
  { name: '0-byte tokenizer', file: 'tokenizer/vocab.json', says: /vocab\.json: is empty \(0 bytes\)/, make: (d) => writeFileSync(join(d, 'tokenizer/vocab.json'), '') },
  { name: 'symlink loop', file: 'unet/model.onnx', says: /model\.onnx: is a symbolic link that leads nowhere \(a loop\)/, make: (d) => { unlinkSync(join(d, 'unet/model.onnx')); symlinkSync('model.onnx', join(d, 'unet/model.onnx')); } },
];

function corruptCopy(root: string, c: Corruption): string {
  const dir = join(root, c.name.replace(/\W+/g, '-'));
  cpSync(FIXTURE, dir, { recursive: true });
  c.make(dir);
  return dir;
}

const oneLine = (s: string) => s.trim().split('\n').length === 1;

test('corrupt model folders: the command line prints one line naming the file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-corrupt-cli-'));
  try {
    for (const c of CORRUPTIONS) {
      const dir = corruptCopy(root, c);
      const r = spawnSync(CLI[0], [...CLI.slice(1), 'generate', 'x', '--model', dir, '--steps', '1', '--device', 'cpu', '--out', join(root, 'out')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      const err = r.stderr.trim();
      console.log(`# cli, ${c.name}: exit ${r.status}: ${err.slice(0, 300)}`);
      assert.notEqual(r.status, 0, `${c.name}: the command succeeded`);
      assert.ok(oneLine(err), `${c.name}: more than one line:\n${err}`);
      assert.ok(err.includes(join(dir, c.file)), `${c.name}: the message does not name ${c.file}: ${err}`);
      assert.match(err, c.says);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('corrupt model folders: the sidecar answers one line naming the file, and keeps serving', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-corrupt-serve-'));
  const s = await startSidecar();
  try {
    for (const c of CORRUPTIONS) {
      const dir = corruptCopy(root, c);
      const outcome = await s.client.generate({ model: dir, prompt: 'x', steps: 1, outputDir: join(root, 'out') })
        .then((job) => job.done)
        .then(() => undefined, (e: Error & { code?: string }) => e);
      assert.ok(outcome, `${c.name}: the job succeeded`);
      console.log(`# sidecar, ${c.name}: ${outcome.code}: ${outcome.message.slice(0, 300)}`);
      assert.ok(['model_invalid', 'model_not_found'].includes(String(outcome.code)), `${c.name}: code ${outcome.code}: ${outcome.message}`);
      assert.ok(oneLine(outcome.message), `${c.name}: more than one line:\n${outcome.message}`);
      assert.ok(outcome.message.includes(join(dir, c.file)), `${c.name}: the message does not name ${c.file}: ${outcome.message}`);
      assert.match(outcome.message, c.says);
    }
    const good = await (await s.client.generate({ model: FIXTURE, prompt: 'x', steps: 1, outputDir: join(root, 'out') })).done;
    assert.equal(good.files.length, 1, 'the sidecar still generates');
  } finally {
    await stopSidecar(s);
    rmSync(root, { recursive: true, force: true });
  }
});
