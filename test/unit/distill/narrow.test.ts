/**
 * A narrower guided student (--student-channels): built from an embedded-family teacher with the
 * teacher's leading channels, trained in stage 1, carried through the rounds, and a usable model whose
 * UNet really is narrower; requests it cannot serve are refused with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, loadModel, toOnnx, type Graph } from '../../../src/sidecar/graph';
import { unetGraph } from '../../../src/sidecar/nn/unet';
import { EMOJI_BASE, EMOJI_STYLES_64 } from '../../../src/sidecar/nn/config';
import { componentGraph, writeFamilyFolder, COMPONENTS, type FamilyWeights } from '../../../src/sidecar/nn/family';
import { graphWeights } from '../../../src/sidecar/nn/weights';
import { buildTokenizer } from '../../../src/sidecar/train/data/tokenizer';
import { runDistillation } from '../../../src/sidecar/pipelines/distill/job';
import { textToImage } from '../../../src/sidecar/pipelines/text-to-image';
import { narrowUnetGraph, unetFamilyConfig } from '../../../src/sidecar/nn/narrow-unet';
import { readTextChunks } from '../../../src/sidecar/io/png-metadata';

const TEACHER = 'models/emoji-base';
const tmp = mkdtempSync(join(tmpdir(), 'narrow-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a 16-channel guided student of emoji-base: every round is 16 channels wide and generates', async () => {
  const out = join(tmp, 'guided');
  const r = await runDistillation({
    mode: 'guided', teacher: TEACHER, out, fromSteps: 2, toSteps: 1, iterations: 2, stage1Iterations: 3, batchSize: 2, studentChannels: 16,
  });
  assert.deepEqual(r.students.map((s) => [s.kind, s.steps]), [['stage1', 2], ['round', 1]]);
  for (const s of r.students) {
    const g = loadModel(join(s.dir, 'unet', 'model.onnx'));
    assert.deepEqual(g.initializers.get('conv_in.weight')?.dims, [16, 4, 3, 3]);
    assert.deepEqual(g.initializers.get('u1.c1.weight')?.dims, [16, 32, 3, 3]);
    assert.ok(g.inputs.includes('guidance_scale'));
    const config = JSON.parse(readFileSync(join(s.dir, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.block_out_channels, [16, 16]);
    assert.equal(config.attention_head_dim, 4, 'the heads stay (4), each narrower');
    assert.equal(config.distilled_from_channels, 64);
    const info = JSON.parse(readFileSync(join(s.dir, 'distill.json'), 'utf8')) as { training: Record<string, unknown> };
    assert.equal(info.training.student_channels, 16);
  }
  const img = await textToImage({ model: r.students[1].dir, prompt: 'a red apple', seed: 3, guidanceScale: 2, out: join(tmp, 'apple.png') });
  assert.match(readTextChunks(readFileSync(img.files[0])).parameters ?? '', /Steps: 1, .*Model: guided-1/);
});

test('the narrow weights start as the teacher\'s leading channels (both halves of an up block\'s input)', () => {
  const teacher = loadModel(join(TEACHER, 'unet', 'model.onnx'));
  const cfg = unetFamilyConfig(teacher, 16, TEACHER);
  assert.equal(cfg.unetChannels, 64);
  const g = narrowUnetGraph(teacher, cfg, 16);
  const t = teacher.initializers.get('u2.c1.weight')!; // [64, 128, 3, 3]: inputs [h (64), skip (64)]
  const s = g.initializers.get('u2.c1.weight')!; // [16, 32, 3, 3]: inputs [h (16), skip (16)]
  const at = (v: typeof t, o: number, i: number, k: number) => (v.data as Float32Array)[((o * Number(v.dims[1]) + i) * 9) + k];
  for (const [o, i, k] of [[0, 0, 0], [15, 15, 8], [3, 16, 4], [7, 31, 2]]) {
    const ti = i < 16 ? i : 64 + (i - 16);
    assert.equal(at(s, o, i, k), at(t, o, ti, k), `u2.c1.weight[${o}, ${i}, ${k}]`);
  }
  assert.equal((g.initializers.get('t2.weight')!.data as Float32Array)[5], (teacher.initializers.get('t2.weight')!.data as Float32Array)[5], 'the time MLP keeps its width');
});

test('requests a narrower student cannot serve are refused with the reason', async () => {
  const out = join(tmp, 'refused');
  const run = (extra: Record<string, unknown>) => runDistillation({ mode: 'guided', teacher: TEACHER, out, fromSteps: 2, toSteps: 1, iterations: 1, batchSize: 2, ...extra });
  await assert.rejects(run({ studentChannels: 12 }), /multiple of 8 .* 4 attention heads.*got 12/);
  await assert.rejects(run({ studentChannels: 128 }), /up to|to the teacher's 64/);
  await assert.rejects(run({ mode: 'progressive', studentChannels: 16 }), /guided distillation only/);
  await assert.rejects(run({ studentChannels: 16, loraRank: 4 }), /cannot be combined with --lora/);
  await assert.rejects(run({ teacher: 'test/fixtures/tiny-sd', studentChannels: 16 }), /not an embedded-family UNet/);
  assert.ok(!existsSync(out), 'a refused request leaves no job folder behind');
});

test('a UNet of the 64x64 family (outer 16x16 level, pooled text) narrows its attention levels and keeps the rest', async () => {
  const cfg = { ...EMOJI_BASE, vocab: 50, imageSize: 64, unetChannels: 32, unetOuterChannels: 16, unetPooledText: true, unetTimeDim: 64, textDim: 16, unetHeads: 4 };
  const teacher = unetGraph(cfg, 5);
  const read = unetFamilyConfig(teacher, 8, 'teacher');
  assert.deepEqual([read.unetChannels, read.unetOuterChannels, read.unetPooledText, read.unetHeads, read.imageSize], [32, 16, true, 4, 64]);
  const g = narrowUnetGraph(teacher, read, 16);
  assert.deepEqual(g.initializers.get('conv_in.weight')?.dims, [16, 4, 3, 3], 'the outer level keeps its 16 channels');
  assert.deepEqual(g.initializers.get('down0.weight')?.dims, [16, 16, 3, 3]);
  assert.deepEqual(g.initializers.get('d1.c1.weight')?.dims, [16, 16, 3, 3], 'the attention levels narrow from 32 to 16');
  assert.deepEqual(g.initializers.get('u0.c1.weight')?.dims, [16, 32, 3, 3], 'the outer up block still takes [h, skip] of 16 each');
  const pooled = (x: Graph) => [...(x.initializers.get('pooled_text.l1.weight')!.data as Float32Array)];
  assert.deepEqual(pooled(g), pooled(teacher), 'the pooled-text path is copied whole');
  const session = await createSession(toOnnx(g));
  const r = await session.run({
    sample: new ort.Tensor('float32', new Float32Array(2 * 4 * 16 * 16).fill(0.1), [2, 4, 16, 16]),
    timestep: new ort.Tensor('int64', BigInt64Array.of(10n, 500n), [2]),
    encoder_hidden_states: new ort.Tensor('float32', new Float32Array(2 * 16 * 16).fill(0.2), [2, 16, 16]),
  });
  assert.deepEqual(r.out_sample.dims, [2, 4, 16, 16]);
  const deeper = unetFamilyConfig(unetGraph({ ...cfg, unetOuterBlocks: 3 }, 5), 8, 'deeper teacher');
  assert.equal(deeper.unetOuterBlocks, 3, 'a deepened outer level is read from its blocks');
  assert.equal(narrowUnetGraph(unetGraph({ ...cfg, unetOuterBlocks: 3 }, 5), deeper, 16).initializers.get('u0_2.c2.weight')?.dims.join('x'), '16x16x3x3');
});

test('a narrower student of a 64x64-family teacher keeps its outer level in unet/config.json and generates', async () => {
  const dir = join(tmp, 'styles-teacher');
  const tokenizer = buildTokenizer(['a red apple', 'a cat face'], 16, []);
  const vocab = Object.keys((tokenizer.tokenizer.model as { vocab: object }).vocab).length;
  const cfg = { ...EMOJI_STYLES_64, vocab, unetChannels: 32, unetOuterChannels: 8, unetTimeDim: 64 };
  const weights = Object.fromEntries(COMPONENTS.map((c) => [c, graphWeights(componentGraph(c, cfg, 3))])) as FamilyWeights;
  writeFamilyFolder({ dir, cfg, weights, scalingFactor: 1, tokenizer, defaults: { steps: 2, guidance_scale: 2, scheduler: 'ddim' }, card: '# t\n', safetensors: false });
  const out = join(tmp, 'styles-guided');
  const r = await runDistillation({ mode: 'guided', teacher: dir, out, fromSteps: 2, toSteps: 1, iterations: 1, stage1Iterations: 2, batchSize: 2, studentChannels: 16, data: 'teacher' });
  const s = r.students.at(-1)!;
  const config = JSON.parse(readFileSync(join(s.dir, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config.block_out_channels, [8, 16, 16], 'the outer level (8) stays, the attention levels narrow from 32 to 16');
  assert.equal(config.attention_head_dim, 4, 'the teacher\'s 4 heads, each narrower');
  assert.equal(config.distilled_from_channels, 32);
  const img = await textToImage({ model: s.dir, prompt: 'a red apple', seed: 3, guidanceScale: 2, out: join(tmp, 'apple64.png') });
  assert.equal(img.metadata[0].width, 64);
});
