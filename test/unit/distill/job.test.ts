/**
 * The distillation job on the tiny SD-layout fixture: every round's folder loads in the generation
 * pipeline and a guided student samples with ONE UNet evaluation per step at any guidance scale;
 * cancel checkpoints and resume continues; LoRA trains adapters and merges them on export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDistillation, DistillCancelledError, type DistillProgress } from '../../../src/sidecar/pipelines/distill/job';
import { textToImage } from '../../../src/sidecar/pipelines/text-to-image';
import { getSession } from '../../../src/sidecar/runtime/sessions';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { readSafetensors } from '../../../src/sidecar/io/safetensors';

const TEACHER = 'test/fixtures/tiny-sd';
const tmp = mkdtempSync(join(tmpdir(), 'distill-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const base = { teacher: TEACHER, batchSize: 4, learningRate: 1e-3, iterations: 6, checkpointEvery: 2 } as const;

test('guided: stage 1 and each round write a folder the pipeline samples with one UNet run per step', async () => {
  const out = join(tmp, 'guided');
  const r = await runDistillation({ ...base, mode: 'guided', out, fromSteps: 4, toSteps: 1 });
  assert.deepEqual(r.students.map((s) => [s.kind, s.steps]), [['stage1', 4], ['round', 2], ['round', 1]]);
  for (const s of r.students) {
    const folder = loadModelFolder(s.dir);
    assert.equal(folder.base?.name, 'tiny-sd');
    assert.equal(folder.distill?.steps, s.steps);
    assert.deepEqual(folder.distill?.guidance_range, [1, 5]);
    // rounds distil the steps the DDIM scheduler takes unless the request says otherwise
    assert.equal(folder.distill?.trajectory, s.kind === 'round' ? 'scheduler' : undefined);
    assert.match(String((folder.distill?.teacher as { hash: string }).hash), /^[0-9a-f]{10}$/);
    const unet = await getSession(folder.files.unet);
    assert.ok(unet.inputNames.includes('guidance_scale'));
    const runs: number[] = [];
    const run = unet.run.bind(unet);
    unet.run = ((feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => {
      runs.push(feeds.sample.dims[0]);
      return (run as (...a: unknown[]) => unknown)(feeds, ...rest);
    }) as typeof unet.run;
    try {
      const images: string[] = [];
      for (const g of [1.5, 4.5]) {
        const res = await textToImage({ model: s.dir, prompt: 'a cat', seed: 5, guidanceScale: g, out: join(tmp, `img-${s.steps}-${g}.png`) });
        images.push(readFileSync(res.files[0]).toString('base64'));
        assert.equal(res.metadata[0].steps, s.steps);
      }
      assert.deepEqual(runs, Array(2 * s.steps).fill(1), 'one UNet evaluation of one row per step');
      assert.notEqual(images[0], images[1], 'the guidance scale input changes the image');
    } finally {
      unet.run = run;
    }
  }
});

test('cancel checkpoints mid-round; resume finishes from that step', async () => {
  const out = join(tmp, 'cancel');
  const req = { ...base, mode: 'progressive' as const, out, fromSteps: 4, toSteps: 1, guidanceScale: 3 };
  const seen: DistillProgress[] = [];
  await assert.rejects(
    runDistillation(req, { onProgress: (p) => seen.push(p), isCancelled: () => seen.some((p) => p.round === 2 && p.step === 3) }),
    DistillCancelledError,
  );
  assert.ok(existsSync(join(out, 'progressive-2', 'distill.json')), 'the finished round is saved');
  const ckpt = join(out, 'checkpoint', 'phase-1.safetensors');
  assert.ok(existsSync(ckpt), 'the running round left a checkpoint');
  assert.equal(readSafetensors(ckpt).metadata.step, '3');
  await assert.rejects(runDistillation(req), /pass --resume/);
  // a resume with other training settings would mix two runs in one student: refused, each change named
  await assert.rejects(
    runDistillation({ ...req, resume: true, learningRate: 2e-3, guidanceScale: 5, trajectory: 'grid', visitedShare: 0.5 }),
    (err: Error) => /cannot resume .* settings differ \(learningRate 0\.001 -> 0\.002, guidanceScale 3 -> 5, trajectory scheduler -> grid, visitedShare 0 -> 0\.5\)/.test(err.message),
  );
  assert.equal(readSafetensors(ckpt).metadata.step, '3', 'the refused resume left the checkpoint as it was');
  // a job started before trajectories were recorded distilled the grid, and resumes only on it
  const statePath = join(out, 'distill-state.json');
  const state = readFileSync(statePath, 'utf8');
  const old = JSON.parse(state) as { settings: Record<string, unknown> };
  delete old.settings.trajectory;
  delete old.settings.visitedShare; // nor visited latents: it trained on noised data alone
  writeFileSync(statePath, JSON.stringify(old));
  await assert.rejects(runDistillation({ ...req, resume: true }), /settings differ \(trajectory grid -> scheduler\)/);
  await assert.rejects(runDistillation({ ...req, resume: true, trajectory: 'grid', visitedShare: 0.25 }), /settings differ \(visitedShare 0 -> 0\.25\)/);
  writeFileSync(statePath, state);
  const resumed: DistillProgress[] = [];
  const r = await runDistillation({ ...req, resume: true }, { onProgress: (p) => resumed.push(p) });
  assert.deepEqual(resumed[0], { ...resumed[0], round: 2, step: 4 }, 'resumed at the step after the checkpoint');
  assert.equal(r.students.length, 2);
  assert.ok(existsSync(join(out, 'progressive-1', 'unet', 'model.onnx')));
  assert.ok(!existsSync(ckpt), 'the checkpoint is removed once the round is saved');
  const res = await textToImage({ model: join(out, 'progressive-1'), prompt: 'a dog', seed: 1, guidanceScale: 1, out: join(tmp, 'p1.png') });
  assert.equal(res.files.length, 1);
});

test('LoRA: only adapters train, and they are merged into the saved UNet', async () => {
  const out = join(tmp, 'lora');
  const r = await runDistillation({ ...base, mode: 'progressive', out, fromSteps: 2, toSteps: 1, loraRank: 2 });
  const weights = readSafetensors(join(r.students[0].dir, 'unet', 'model.safetensors')).tensors;
  const names = [...weights.keys()];
  assert.ok(names.length > 0 && names.every((n) => n.endsWith('.lora_A') || n.endsWith('.lora_B')), names.join(', '));
  const unet = await getSession(join(r.students[0].dir, 'unet', 'model.onnx'));
  assert.deepEqual([...unet.inputNames].sort(), ['encoder_hidden_states', 'sample', 'timestep']);
});

test('bad requests name the problem', async () => {
  await assert.rejects(runDistillation({ ...base, mode: 'guided', out: join(tmp, 'x'), toSteps: 3 }), /power of two/);
  await assert.rejects(runDistillation({ ...base, mode: 'guided', out: join(tmp, 'x'), toSteps: 2, guidanceRange: [5, 1] }), /guidance range/);
  await assert.rejects(runDistillation({ ...base, teacher: join(tmp, 'nope'), mode: 'guided', out: join(tmp, 'x'), toSteps: 2 }), /nope/);
});
