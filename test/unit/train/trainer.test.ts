import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../../src/sidecar/train/trainer';
import { decodeSafetensors, readSafetensors, writeSafetensors } from '../../../src/sidecar/io/safetensors';
import type { TrainProgress } from '../../../src/sidecar/train/progress';
import { tinyBatch, tinyTask } from './fixtures/tiny-task';

const tmp = () => mkdtempSync(join(tmpdir(), 'trainer-'));

async function run(steps: number): Promise<number[]> {
  const t = await Trainer.create(tinyTask(), { seed: 11 });
  const losses = await t.fit({ steps, batch: tinyBatch });
  await t.dispose();
  return losses;
}

test('training lowers the loss, reports progress, and is deterministic for a seed', async () => {
  const t = await Trainer.create(tinyTask(), { seed: 11 });
  const seen: TrainProgress[] = [];
  const losses = await t.fit({ steps: 40, batch: tinyBatch, onProgress: (p) => seen.push(p) });
  assert.ok(losses[39] < losses[0] * 0.5, `loss ${losses[0]} -> ${losses[39]}`);
  assert.deepEqual(seen.map((p) => p.step), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.ok(seen.every((p) => p.stepsPerSec > 0 && p.etaSec >= 0 && p.totalSteps === 40));
  assert.ok(Math.abs(seen[2].lr - 3 * 1e-2 / 5) < 1e-8, `warm-up lr at step 3: ${seen[2].lr}`);
  assert.deepEqual(await run(40), losses);
  const params = t.params(), ema = t.emaParams();
  assert.deepEqual(params.get('c2.weight')!.dims, [2, 8, 3, 3]);
  assert.notDeepEqual(params.get('c2.weight')!.data, ema.get('c2.weight')!.data);
});

test('a run killed mid-training resumes from its checkpoint on the same loss trajectory', async () => {
  const reference = await run(14);
  const ckpt = join(tmp(), 'ckpt.safetensors');
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'train-child.ts'), ckpt], { stdio: ['ignore', 'pipe', 'inherit'] });
  const childLosses = new Map<number, number>();
  await new Promise<void>((resolve) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        const [s, l] = line.split(' ').map(Number);
        childLosses.set(s, l);
        if (s >= 6 && !child.killed) child.kill('SIGKILL'); // no chance to clean up: a real crash
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    child.on('exit', () => resolve());
  });
  for (const [s, l] of childLosses) if (s <= 14) assert.equal(l, reference[s - 1], `child step ${s}`);
  const t = await Trainer.create(tinyTask(), { seed: 11 });
  assert.ok(t.resumeIfPresent(ckpt));
  const done = t.step;
  assert.ok(done >= 5, `checkpoint at step ${done}`); // progress for step 6 is reported just before its checkpoint
  const resumed = await t.fit({ steps: 14, batch: tinyBatch });
  assert.deepEqual(resumed, reference.slice(done), 'resumed losses differ from the uninterrupted run');
  await t.dispose();
});

test('safetensors: round trip with metadata; torn or foreign files are refused clearly', () => {
  const path = join(tmp(), 'w.safetensors');
  const tensors = new Map([
    ['a.weight', { dtype: 'float32' as const, dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['ids', { dtype: 'int64' as const, dims: [2], data: BigInt64Array.from([7n, -1n]) }],
  ]);
  writeSafetensors(path, tensors, { step: '12' });
  const back = readSafetensors(path);
  assert.deepEqual(back.metadata, { step: '12' });
  assert.deepEqual(back.tensors.get('a.weight'), tensors.get('a.weight'));
  assert.deepEqual(back.tensors.get('ids'), tensors.get('ids'));
  const bytes = readFileSync(path);
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'torn'), /torn: not a valid safetensors file \(tensor ids: offsets/);
  writeFileSync(path, 'hello world, not tensors');
  assert.throws(() => readSafetensors(path), /not a valid safetensors file/);
});

test('fit stops on abort with a checkpoint; a checkpoint of another model is refused by name', async () => {
  const ckpt = join(tmp(), 'c.safetensors');
  const t = await Trainer.create(tinyTask(), { seed: 11 });
  const ac = new AbortController();
  await t.fit({ steps: 50, batch: tinyBatch, checkpoint: ckpt, onProgress: (p) => { if (p.step === 3) ac.abort(); }, signal: ac.signal });
  assert.equal(t.step, 3);
  assert.equal(readSafetensors(ckpt).metadata.step, '3');
  const foreign = join(tmp(), 'f.safetensors');
  writeSafetensors(foreign, new Map([['other.weight', { dtype: 'float32' as const, dims: [1], data: Float32Array.of(1) }]]));
  assert.throws(() => t.loadCheckpoint(foreign), /lacks parameter c1\.weight of shape \[8, 2, 3, 3\]/);
  await assert.rejects(t.trainStep({}), /training batch lacks input "x"/);
  await t.dispose();
});
