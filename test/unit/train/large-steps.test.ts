// Training steps built for models of any size (train/frozen.ts, train/memory-plan.ts), checked on an
// SD 1.5-shaped UNet small enough for CI (nn/sd15-unet.ts small(): the same blocks, narrower): frozen
// weights fed as inputs train exactly as frozen initializers do, the step graph then carries none of
// them, only the adapters get gradients and optimiser state, a checkpoint resumes to the same next
// loss, float16 frozen weights train within rounding, and a step the machine cannot hold is refused
// with the figure. The same at full size: test/large/sd15-full.test.ts (`npm run test:large`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toOnnx } from '../../../src/sidecar/graph';
import { scaledSd15 } from '../../../src/sidecar/nn/sd15-unet';
import { assertFits, FROZEN_INPUT_MIN_BYTES, planMemory } from '../../../src/sidecar/train';
import { Trainer } from '../../../src/sidecar/train/trainer';
import { readSafetensors } from '../../../src/sidecar/io/safetensors';
import { sd15Batch, sd15LoraStep } from './fixtures/sd15-lora';

// small() with two levels and 8x8 latents: every kind of block, ~4,000 step nodes, a session in ~2 s.
const cfg = scaledSd15({ channelMult: 32, levels: 2, heads: 2, contextDim: 48, groups: 8, sampleSize: 8, sequenceLength: 7 });
const batch = sd15Batch(cfg);
type Placement = 'initializers' | 'inputs' | 'inputs-fp16';
const steps = new Map<Placement, ReturnType<typeof sd15LoraStep>>();
const built = (p: Placement) => steps.get(p) ?? steps.set(p, sd15LoraStep(cfg, p)).get(p)!;
const runs = new Map<Placement, number[]>();

/** The first three losses of an uninterrupted run (a step spec may be run by several trainers). */
async function losses(p: Placement): Promise<number[]> {
  if (runs.has(p)) return runs.get(p)!;
  const t = await Trainer.create(built(p).step, { seed: 1, threads: 1 });
  try {
    runs.set(p, await t.fit({ steps: 3, batch }));
    return runs.get(p)!;
  } finally {
    await t.dispose();
  }
}

test('frozen weights as inputs: the step graph holds none of them, only adapters train, losses as with initializers', async () => {
  const { step, adapters } = built('inputs');
  const g = step.graph;
  const frozenBytes = [...step.frozen.values()].reduce((s, v) => s + v.data.byteLength, 0);
  assert.ok(step.frozen.size > 15 && frozenBytes > 2e6, `${step.frozen.size} frozen inputs, ${frozenBytes} bytes`);
  for (const name of step.frozen.keys()) assert.ok(g.inputs.includes(name) && !step.dataInputs.includes(name), `${name} is fed by the trainer, not by the caller`);
  // What ORT receives: the graph without the frozen weights (an SD 1.5 step is then a few MB, never >2 GB).
  const [onnxBytes, withWeights] = [toOnnx(g).byteLength, toOnnx(built('initializers').step.graph).byteLength];
  // (less a few bytes per weight: each fed one is declared as an input instead)
  assert.ok(withWeights - onnxBytes >= frozenBytes - 100 * step.frozen.size, `step graph ${onnxBytes} bytes, ${withWeights} with the ${frozenBytes} bytes of frozen weights inline`);
  const leftInline = [...g.initializers].filter(([n, v]) => !g.inputs.includes(n) && v.data.byteLength >= FROZEN_INPUT_MIN_BYTES);
  assert.deepEqual(leftInline.map(([n]) => n), []);
  // Gradient and Adam state for the adapters only: params, m and v are each as long as the adapters.
  assert.deepEqual(step.state.map((s) => s.init.length), [adapters, adapters, adapters]);
  assert.ok(adapters < frozenBytes / 4 / 10, `${adapters} adapter values`);

  const [a, b] = [await losses('initializers'), await losses('inputs')];
  a.forEach((l, i) => assert.ok(Math.abs(l - b[i]) <= 1e-5 * Math.abs(l), `step ${i + 1}: ${l} (initializers) vs ${b[i]} (inputs)`));
  assert.ok(b[2] !== b[0], 'the adapters moved');
});

test('a LoRA step with frozen inputs checkpoints and resumes to the same next loss', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd15-resume-'));
  try {
    const ckpt = join(dir, 'ckpt.safetensors');
    const straight = await losses('inputs');
    const first = await Trainer.create(built('inputs').step, { seed: 1, threads: 1 });
    await first.fit({ steps: 2, batch, checkpoint: ckpt });
    await first.dispose();
    const saved = readSafetensors(ckpt);
    assert.equal(saved.metadata.step, '2');
    assert.ok([...saved.tensors.keys()].every((n) => n.includes('.lora_') || n.startsWith('state.')), 'the checkpoint holds adapters and optimiser state only');

    // A new process would rebuild the step graph: a fresh build, a fresh session, the checkpoint.
    const resumed = await Trainer.create(sd15LoraStep(cfg, 'inputs').step, { seed: 1, threads: 1 });
    assert.equal(resumed.resumeIfPresent(ckpt), true);
    const next = await resumed.fit({ steps: 3, batch });
    await resumed.dispose();
    assert.deepEqual(next, [straight[2]], 'step 3 after resuming = step 3 of the uninterrupted run (1 thread: bitwise)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('float16 frozen weights: fed as float16, cast again in the backward, losses within rounding', async () => {
  const { step } = built('inputs-fp16');
  const fed = [...step.frozen.values()];
  assert.ok(fed.length > 15 && fed.every((v) => v.dtype === 'float16'), 'frozen inputs are float16');
  const recasts = step.graph.nodes.slice(step.forwardNodes).filter((n) => n.op === 'Cast' && n.outputs[0].includes('.recast'));
  assert.ok(recasts.length >= fed.length / 2, `${recasts.length} casts in the backward for ${fed.length} float16 weights`);
  const [a, b] = [await losses('inputs'), await losses('inputs-fp16')];
  // float16 rounds each weight by up to 2^-11 relative; the loss moves by about that much, not more.
  a.forEach((l, i) => assert.ok(Math.abs(l - b[i]) <= 2e-3 * Math.abs(l), `step ${i + 1}: ${l} (fp32) vs ${b[i]} (fp16)`));
});

test('the memory plan counts weights, state and activations; a step that does not fit is refused with the figures', () => {
  const { step } = built('inputs');
  const one = planMemory(step, { batch: 1 }), four = planMemory(step, { batch: 4 });
  const frozenBytes = [...step.frozen.values()].reduce((s, v) => s + v.data.byteLength, 0);
  assert.ok(one.weightBytes >= frozenBytes, 'fed frozen weights are counted');
  assert.ok(one.activationBytes > 0 && four.activationBytes > 3.5 * one.activationBytes, `activations ${one.activationBytes} at batch 1, ${four.activationBytes} at 4`);
  assert.equal(four.stateBytes, one.stateBytes);
  assertFits('this LoRA step', one, one.totalBytes + 1); // fits: no throw
  assert.throws(() => assertFits('Imagic stage 2 (LoRA rank 4)', one, 0.2e9, 'try a smaller image'),
    (e: Error) => e.name === 'InsufficientMemoryError' && e instanceof RangeError
      && /^Imagic stage 2 \(LoRA rank 4\) needs about \d+\.\d GB of memory \(weights [\d.]+, training state [\d.]+, activations [\d.]+, working [\d.]+ GB\); this machine has 0\.2 GB available: try a smaller image$/.test(e.message));
});
