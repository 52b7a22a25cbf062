// The one denoising loop (pipelines/core/denoise.ts) on real ONNX Runtime sessions of the tiny SD-layout
// fixtures: what every caller relies on, a batch equal to single runs, cancellation between steps, and
// how many UNet rows each kind of guidance costs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { modelRoots, resolveModel } from '../../../src/sidecar/io/model-discovery';
import { denoise, type DenoiseInput } from '../../../src/sidecar/pipelines/core/denoise';
import { nativeLatentSize, seededNoise, stepGenerators } from '../../../src/sidecar/pipelines/core/latents';
import { embeddingRow, encodePrompts } from '../../../src/sidecar/pipelines/core/prompt';
import { timestepTensor } from '../../../src/sidecar/pipelines/core/unet-feeds';
import { openModel, type OpenModel } from '../../../src/sidecar/pipelines/model-sessions';
import { tile } from '../../../src/sidecar/pipelines/tensors';
import { createScheduler, type SchedulerName } from '../../../src/sidecar/schedulers/index';

const fixtures = join(__dirname, '..', '..', 'fixtures');
const open = (name: string) => openModel(resolveModel(join(fixtures, name), modelRoots([])), {});
const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** A denoise call for `seeds` on `model`, prompt "a red cat" against "blue". */
async function setUp(model: OpenModel, seeds: number[], o: { scheduler: SchedulerName; steps: number; guidance: number }): Promise<DenoiseInput> {
  const text = await encodePrompts(model, ['blue', 'a red cat']);
  const shape = [model.unetSig.latentChannels, ...nativeLatentSize(model, 8)];
  const scheduler = createScheduler(o.scheduler, model.folder.schedulerConfig);
  scheduler.setTimesteps(o.steps);
  return {
    unet: { session: model.unet, sig: model.unetSig }, scheduler, shape,
    latents: seededNoise(seeds, shape[0] * shape[1] * shape[2]).map((x) => x * scheduler.initNoiseSigma),
    text: { cond: tile(embeddingRow(text, 1), seeds.length), uncond: embeddingRow(text, 0), dims: text.dims.slice(1) },
    guidanceScale: o.guidance, rngs: stepGenerators(seeds),
  };
}

/** The model's UNet session with every run's batch rows and guidance_scale input recorded. */
function recording(session: ort.InferenceSession): { session: ort.InferenceSession; rows: number[]; scales: number[][] } {
  const rows: number[] = [];
  const scales: number[][] = [];
  const spy = Object.create(session) as ort.InferenceSession;
  spy.run = ((feeds: Record<string, ort.Tensor>) => {
    rows.push(feeds.sample.dims[0]);
    if (feeds.guidance_scale) scales.push([...(feeds.guidance_scale.data as Float32Array)]);
    return session.run(feeds);
  }) as typeof session.run;
  return { session: spy, rows, scales };
}

test('a batch of seeds gives every image the latents of its own single run (DDPM step noise, guidance batch)', async () => {
  const model = await open('tiny-sd');
  const o = { scheduler: 'ddpm' as const, steps: 5, guidance: 6 };
  const batch = await denoise(await setUp(model, [3, 4, 5], o));
  const per = batch.length / 3;
  for (const [k, seed] of [3, 4, 5].entries()) {
    const single = await denoise(await setUp(model, [seed], o));
    assert.ok(bytes(single).equals(bytes(batch.subarray(k * per, (k + 1) * per))), `seed ${seed} differs between batch and single run`);
  }
  // Same seed twice in a batch (Imagic's eta sweep from one noise): identical rows.
  const twins = await denoise(await setUp(model, [9, 9], o));
  assert.ok(bytes(twins.subarray(0, per)).equals(bytes(twins.subarray(per))));
});

test('a cancel stops before the next step: no UNet run after it, and the caller\'s own error comes out', async () => {
  const model = await open('tiny-sd');
  const d = await setUp(model, [1, 2], { scheduler: 'euler', steps: 10, guidance: 7.5 });
  const unet = recording(model.unet);
  let done = 0;
  class Stopped extends Error {}
  await assert.rejects(denoise({ ...d, unet: { ...d.unet, session: unet.session } }, {
    throwIfCancelled: () => {
      if (done >= 3) throw new Stopped();
    },
    onStep: (s) => {
      done = s.done;
      assert.equal(s.total, 10);
    },
  }), Stopped);
  assert.deepEqual(unet.rows, [4, 4, 4], 'three steps of [uncond x 2, cond x 2], then none');
});

test('UNet rows per step: a guided student one run of n rows with the scale fed; a plain UNet 2n rows above scale 1, n rows at 1', async () => {
  const student = await open('tiny-sd-guided');
  const s = recording(student.unet);
  const d = await setUp(student, [1, 2, 3], { scheduler: 'ddim', steps: 4, guidance: 4.5 });
  await denoise({ ...d, unet: { ...d.unet, session: s.session } });
  assert.deepEqual(s.rows, [3, 3, 3, 3]);
  assert.ok(s.scales.every((v) => v.every((x) => x === 4.5)), `guidance_scale fed: ${JSON.stringify(s.scales)}`);
  const plain = await open('tiny-sd');
  for (const [guidance, rows] of [[3, 4], [1, 2]]) {
    const p = recording(plain.unet);
    const dp = await setUp(plain, [1, 2], { scheduler: 'ddim', steps: 2, guidance });
    await denoise({ ...dp, unet: { ...dp.unet, session: p.session } });
    assert.deepEqual(p.rows, [rows, rows], `guidance ${guidance}`);
  }
});

test('the timestep goes in as the UNet declares it: int64 per row (SD 1.x), float16 [1] (the fp16 export)', async () => {
  const int = (await open('tiny-sd')).unetSig;
  const t = timestepTensor(int.timestepType, int.timestepShape, [999.6, 999.6]);
  assert.equal(t.type, 'int64');
  assert.deepEqual(t.dims, [2]);
  assert.deepEqual([...(t.data as BigInt64Array)], [1000n, 1000n]);
  const half = (await open('tiny-sd-fp16')).unetSig;
  const h = timestepTensor(half.timestepType, half.timestepShape, [999.6, 999.6]);
  assert.equal(h.type, half.timestepType);
  assert.deepEqual(h.dims, [1]);
});
