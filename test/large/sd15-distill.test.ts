// Whole distillation jobs on a Stable Diffusion 1.5-size teacher (UNet 860 M weights, CLIP-L text
// encoder, SD VAE; seeded random weights from nn/sd15/folder.ts) at 8x8 latents so they fit this CPU,
// through the same runDistillation the sidecar's distill job calls, with the default for that size
// (LoRA rank 4): progressive 4 -> 2 steps stopped after two steps (checkpoint), resumed, finished and
// exported as a folder that generates; guided 4 -> 2 (stage 1 with the guidance input, then one round).
// Prints times and the peak RSS (docs/BENCHMARKS.md). Writes ~14 GB to the temp dir and takes tens of
// minutes: `npm run test:large` only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeSd15Folder } from '../../src/sidecar/nn/sd15/folder';
import { runDistillation, DistillCancelledError, type DistillProgress } from '../../src/sidecar/pipelines/distill/job';
import { loadModelFolder } from '../../src/sidecar/io/model-folder';
import { readSafetensors } from '../../src/sidecar/io/safetensors';
import { textToImage } from '../../src/sidecar/pipelines/text-to-image';
import { getSession } from '../../src/sidecar/runtime/sessions';

const peakGb = () => Number((process.resourceUsage().maxRSS / 1e6).toFixed(2));
const secondsSince = (t: number) => Math.round((performance.now() - t) / 1000);

test('SD 1.5 size: LoRA distillation jobs checkpoint, resume, export and the students generate', { timeout: 7_200_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd15-distill-'));
  try {
    const teacher = join(dir, 'sd15');
    let t = performance.now();
    writeSd15Folder(teacher, { size: 'full', latentSize: 8, tokenizerDir: 'test/fixtures/tiny-sd/tokenizer', log: (m) => console.log(`# ${m}`) });
    console.log(`# teacher folder written in ${secondsSince(t)} s, peak RSS ${peakGb()} GB`);

    // Progressive, stopped after its second step: the checkpoint holds the adapters, not the UNet.
    const out = join(dir, 'progressive');
    const req = { teacher, out, mode: 'progressive' as const, fromSteps: 4, toSteps: 2, iterations: 3, batchSize: 1, checkpointEvery: 1, guidanceScale: 3, prompts: ['a dog', 'a cat', 'a house'] };
    const seen: DistillProgress[] = [];
    t = performance.now();
    await assert.rejects(runDistillation(req, { onProgress: (p) => seen.push(p), isCancelled: () => seen.some((p) => p.step === 2) }), DistillCancelledError);
    console.log(`# progressive, 2 steps then stopped: ${secondsSince(t)} s, peak RSS ${peakGb()} GB`);
    const ckpt = join(out, 'checkpoint', 'phase-0.safetensors');
    assert.ok(existsSync(ckpt), 'a checkpoint');
    assert.equal(readSafetensors(ckpt).metadata.step, '2');
    assert.ok(statSync(ckpt).size < 100e6, `the checkpoint is ${(statSync(ckpt).size / 1e6).toFixed(1)} MB: adapters and their moments only`);

    const resumed: DistillProgress[] = [];
    t = performance.now();
    const r = await runDistillation({ ...req, resume: true }, { onProgress: (p) => resumed.push(p) });
    console.log(`# resumed, finished and exported: ${secondsSince(t)} s, peak RSS ${peakGb()} GB`);
    assert.deepEqual(resumed.map((p) => p.step), [3], 'resumed at the step after the checkpoint');
    assert.ok(resumed.every((p) => Number.isFinite(p.loss)));
    assert.deepEqual(r.students.map((s) => s.steps), [2]);
    const folder = loadModelFolder(r.students[0].dir);
    assert.equal((folder.distill?.training as { lora_rank?: number } | undefined)?.lora_rank, 4, 'LoRA rank 4 by default at this size');
    const unet = await getSession(folder.files.unet);
    assert.deepEqual([...unet.inputNames].sort(), ['encoder_hidden_states', 'sample', 'timestep'], 'the adapters are merged: an ordinary UNet');
    t = performance.now();
    const img = await textToImage({ model: r.students[0].dir, prompt: 'a dog', seed: 1, out: join(dir, 'student.png') });
    console.log(`# the student's image: ${secondsSince(t)} s`);
    const meta = await sharp(img.files[0]).metadata();
    assert.deepEqual([meta.width, meta.height, img.metadata[0].steps], [64, 64, 2]);
    rmSync(out, { recursive: true, force: true }); // 3.4 GB

    // Guided: stage 1 learns the guidance input, then one halving round.
    t = performance.now();
    const g = await runDistillation({ teacher, out: join(dir, 'guided'), mode: 'guided', fromSteps: 4, toSteps: 2, iterations: 2, batchSize: 1, prompts: req.prompts });
    console.log(`# guided 4 -> 2 (stage 1 + one round, 2 steps each): ${secondsSince(t)} s, peak RSS ${peakGb()} GB`);
    assert.deepEqual(g.students.map((s) => [s.kind, s.steps]), [['stage1', 4], ['round', 2]]);
    for (const s of g.students) {
      const session = await getSession(loadModelFolder(s.dir).files.unet);
      assert.ok(session.inputNames.includes('guidance_scale'), `${s.kind}: the guidance scale is an input`);
    }
    const gi = await textToImage({ model: g.students[1].dir, prompt: 'a cat', seed: 2, guidanceScale: 4, out: join(dir, 'guided.png') });
    assert.equal((await sharp(gi.files[0]).metadata()).width, 64);
    console.log(`# peak RSS ${peakGb()} GB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
