// Training at full Stable Diffusion 1.5 size (860 M UNet weights, 3.4 GB) with random weights from the
// project's builder, at 8x8 latents so it fits this CPU: a few LoRA steps run, checkpoint, and resume
// to the same next loss; the step graph ORT receives stays far under protobuf's 2 GB. About 3-8 min
// and 5 GB of memory, so it lives in its own suite, run on request (not by `npm test` or CI, and not
// counted as a skipped test there):
//   npm run test:large
// The CI-sized version of every claim here is large-steps.test.ts (in `npm test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toOnnx } from '../../src/sidecar/graph';
import { SD15_UNET } from '../../src/sidecar/nn/sd15-unet';
import { Trainer } from '../../src/sidecar/train/trainer';
import { sd15Batch, sd15LoraStep } from '../unit/train/fixtures/sd15-lora';

test('SD 1.5 size: LoRA steps run, checkpoint and resume to the same next loss; the step graph stays far under 2 GB', { timeout: 1_200_000 }, async () => {
  const cfg = { ...SD15_UNET, sampleSize: 8 };
  const { step, adapters } = sd15LoraStep(cfg, 'auto');
  assert.equal(step.placement, 'inputs', 'auto feeds the frozen weights of a model this size');
  const fed = [...step.frozen.values()].reduce((n, v) => n + v.data.length, 0);
  assert.ok(fed > 850e6, `${(fed / 1e6).toFixed(0)} M frozen weights fed as inputs`);
  const onnxBytes = toOnnx(step.graph).byteLength;
  assert.ok(onnxBytes < 100e6, `the step graph is ${(onnxBytes / 1e6).toFixed(0)} MB of protobuf`);
  assert.deepEqual(step.state.map((s) => s.init.length), [adapters, adapters, adapters], 'state for the adapters only');

  const dir = mkdtempSync(join(tmpdir(), 'sd15-full-'));
  try {
    const ckpt = join(dir, 'lora.safetensors');
    const batch = sd15Batch(cfg);
    const memory = { what: 'the SD 1.5 LoRA test step', dims: { batch: 2 } };
    const first = await Trainer.create(step, { seed: 1, threads: 1, memory });
    await first.fit({ steps: 2, batch, checkpoint: ckpt });
    const straight = await first.fit({ steps: 3, batch }); // the uninterrupted run's step 3
    await first.dispose();
    assert.ok(statSync(ckpt).size < 50e6, 'the checkpoint holds the adapters and their Adam moments, not the UNet');

    // A new session from the checkpoint (the step graph is reused: rebuilding it costs a minute here;
    // large-steps.test.ts resumes into a freshly built one).
    const resumed = await Trainer.create(step, { seed: 1, threads: 1, memory });
    assert.equal(resumed.resumeIfPresent(ckpt), true);
    assert.equal(resumed.step, 2);
    const next = await resumed.fit({ steps: 3, batch });
    await resumed.dispose();
    assert.ok(Number.isFinite(straight[0]) && straight[0] > 0);
    assert.deepEqual(next, straight, 'step 3 after resuming = step 3 of the uninterrupted run (1 thread: bitwise)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
