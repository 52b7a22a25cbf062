// Eval's batched sampler with a ready sampler in place of the named scheduler: the distillation's
// exact-grid DDIM (distill/targets.ts) and the DDIM scheduler, which steps as diffusers does
// (t -> t - T // n whatever the spacing), are the same sampler exactly where n divides T, and differ
// elsewhere. docs/DISTILLATION.md ("What held the 4-step student back") rests on this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { modelRoots, resolveModel } from '../../../src/sidecar/io/model-discovery';
import { gridSampler, NoiseLevels } from '../../../src/sidecar/pipelines/distill/targets';
import { sampleImages } from '../../../src/sidecar/pipelines/eval/sample';
import { openModel, type OpenModel } from '../../../src/sidecar/pipelines/model-sessions';

const fixtures = join(__dirname, '..', '..', 'fixtures');

async function trailingModel(): Promise<OpenModel> {
  const model = await openModel(resolveModel(join(fixtures, 'tiny-sd'), modelRoots([])), {});
  const schedulerConfig = { ...model.folder.schedulerConfig, timestep_spacing: 'trailing' as const };
  return { ...model, folder: { ...model.folder, schedulerConfig } };
}

async function largestDifference(model: OpenModel, steps: number): Promise<number> {
  const cfg = model.folder.schedulerConfig;
  const o = { steps, guidance: 3, scheduler: 'ddim' as const, seed: 7 };
  const prompts = ['a red cat', 'a blue dog'];
  const named = await sampleImages(model, prompts, o);
  const grid = await sampleImages(model, prompts, { ...o, sampler: gridSampler(cfg.prediction_type, new NoiseLevels(cfg), steps) });
  return named.images.reduce((m, v, k) => Math.max(m, Math.abs(v - grid.images[k])), 0);
}

test('the exact-grid DDIM draws the DDIM scheduler\'s images at 4 steps (4 divides 1000), other ones at 64', async () => {
  const model = await trailingModel();
  const at4 = await largestDifference(model, 4);
  const at64 = await largestDifference(model, 64);
  assert.ok(at4 < 1e-4, `4 steps: the two samplers differ by ${at4}`);
  assert.ok(at64 > 100 * Math.max(at4, 1e-6), `64 steps: the two samplers differ by only ${at64} (4 steps: ${at4})`);
});
