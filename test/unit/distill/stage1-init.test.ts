/**
 * A stage 1 started from an earlier student (--stage1-init): the student begins with that student's
 * weights (not the teacher's leading channels), a float16-stored student is widened back, the start is
 * recorded and part of what a resume must share, and a start that does not fit is refused before any
 * job folder exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel, type Graph } from '../../../src/sidecar/graph';
import { runDistillation } from '../../../src/sidecar/pipelines/distill/job';
import { studentGraph } from '../../../src/sidecar/pipelines/distill/student';
import { storeWeightsAsHalf } from '../../../src/sidecar/pipelines/distill/half-weights';
import { narrowUnetGraph, unetFamilyConfig } from '../../../src/sidecar/nn/narrow-unet';

const TEACHER = 'models/emoji-base';
const tmp = mkdtempSync(join(tmpdir(), 'stage1-init-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const maxDiff = (a: Graph, b: Graph, name: string) => {
  const x = a.initializers.get(name)!.data as Float32Array, y = b.initializers.get(name)!.data as Float32Array;
  assert.equal(x.length, y.length, name);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
};

/** A finished 16-channel guided student of emoji-base: the start of the jobs below. */
let earlier: string;
test.before(async () => {
  const r = await runDistillation({ mode: 'guided', teacher: TEACHER, out: join(tmp, 'earlier'), fromSteps: 2, toSteps: 1, iterations: 2, stage1Iterations: 3, batchSize: 2, studentChannels: 16, stage1LearningRate: 1e-2 });
  earlier = r.students[1].dir;
});

test('stage 1 starts from the earlier student\'s weights, not the teacher\'s leading channels, and says so', async () => {
  const out = join(tmp, 'again');
  const req = { mode: 'guided' as const, teacher: TEACHER, out, fromSteps: 4, toSteps: 2, iterations: 1, stage1Iterations: 1, stage1LearningRate: 1e-9, batchSize: 2, studentChannels: 16, stage1Init: earlier };
  const r = await runDistillation(req);
  const stage1 = loadModel(join(r.students[0].dir, 'unet', 'model.onnx'));
  const start = loadModel(join(earlier, 'unet', 'model.onnx'));
  const teacher = loadModel(join(TEACHER, 'unet', 'model.onnx'));
  const fresh = narrowUnetGraph(teacher, unetFamilyConfig(teacher, 16, TEACHER), 16);
  for (const name of ['conv_in.weight', 'u1.c1.weight', 'conv_out.weight']) {
    assert.ok(maxDiff(stage1, start, name) < 1e-6, `${name} is the earlier student's (one step at lr 1e-9)`);
    assert.ok(maxDiff(stage1, fresh, name) > 1e-3, `${name} is not the teacher's leading channels`);
  }
  const info = JSON.parse(readFileSync(join(r.students[0].dir, 'distill.json'), 'utf8')) as { training: Record<string, unknown> };
  assert.match(String(info.training.start_weights), /earlier[/\\]guided-1$/);
  // the start shapes the weights, so a resume naming another one would mix two students: refused
  await assert.rejects(runDistillation({ ...req, resume: true, stage1Init: join(tmp, 'earlier', 'guided-2') }), /settings differ \(stage1Init .*guided-1 -> .*guided-2\)/);
});

test('a float16-stored student (as installed with --half-weights) is widened back to float32', () => {
  const half = loadModel(join(earlier, 'unet', 'model.onnx'));
  assert.ok(storeWeightsAsHalf(half) > 10);
  const file = join(tmp, 'half.onnx');
  saveModel(half, file);
  const stored = loadModel(file);
  assert.equal(stored.initializers.get('u1.c1.weight.fp16')?.dtype, 'float16', 'the start holds the weight as float16 only');
  assert.ok(!stored.initializers.has('u1.c1.weight'));
  const g = studentGraph({ unetPath: join(TEACHER, 'unet', 'model.onnx'), addGuidance: true, loraRank: 0, narrow: { channels: 16, headDim: 16 }, startWeights: file }).graph;
  const start = loadModel(join(earlier, 'unet', 'model.onnx'));
  const w = start.initializers.get('u1.c1.weight')!.data as Float32Array;
  const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxDiff(g, start, 'u1.c1.weight') <= scale * 2 ** -10, 'within float16 rounding of the earlier student');
  assert.equal(g.initializers.get('u1.c1.weight')!.dtype, 'float32');
});

test('a start that does not fit, or a request that cannot use one, is refused with the reason', async () => {
  const out = join(tmp, 'refused');
  const run = (extra: Record<string, unknown>) => runDistillation({ mode: 'guided', teacher: TEACHER, out, fromSteps: 2, toSteps: 1, iterations: 1, batchSize: 2, studentChannels: 16, ...extra });
  await assert.rejects(run({ stage1Init: TEACHER }), /does not fit the student .*conv_in\.weight is \[64, 4, 3, 3\], the student's \[16, 4, 3, 3\]/);
  await assert.rejects(run({ stage1Init: join(tmp, 'nowhere') }), /neither an ONNX file nor a model folder/);
  await assert.rejects(run({ mode: 'progressive', studentChannels: 0, stage1Init: earlier }), /guided distillation only/);
  await assert.rejects(run({ studentChannels: 0, loraRank: 4, stage1Init: earlier }), /cannot be combined with --lora/);
  assert.ok(!existsSync(out), 'a refused request leaves no job folder behind');
});
