// Imagic's trained stages on the tiny SD-layout fixture (real ONNX Runtime sessions on the model's own
// unet/model.onnx, the engine's training steps): stage 1 lowers the reconstruction loss on held-out
// noise, its gradient matches finite differences, full and LoRA fine-tuning lower the loss, and the
// LoRA-injected UNet starts as the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, gradients, loadModel, toOnnx } from '../../../src/sidecar/graph';
import { injectLora, mseLoss } from '../../../src/sidecar/train';
import type { TensorValue } from '../../../src/sidecar/graph/types';
import { alphaBarFor } from '../../../src/sidecar/schedulers/noise-schedule';
import { defaultSchedulerConfig } from '../../../src/sidecar/schedulers/config';
import { SeededRandom } from '../../../src/sidecar/schedulers/index';
import { EMBEDDING, buildStageGraph, countParameters, type StageGraphOptions } from '../../../src/sidecar/pipelines/imagic/loss-graph';
import { trainStage, type StageInput } from '../../../src/sidecar/pipelines/imagic/train-stage';

const unet = join(__dirname, '..', '..', 'fixtures', 'tiny-sd', 'unet', 'model.onnx');
const alphaBar = alphaBarFor(defaultSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }));
const latent = { data: new SeededRandom(7).fillNormal(new Float32Array(4 * 8 * 8)), dims: [1, 4, 8, 8] };
const eTarget = (): TensorValue => ({ dtype: 'float32', data: new SeededRandom(8).fillNormal(new Float32Array(6 * 32)), dims: [1, 6, 32] });

function stageInput(o: StageGraphOptions, over: Partial<StageInput> = {}): StageInput {
  return {
    step: buildStageGraph(unet, o).step, embedding: o.mode === 'embedding' ? null : { data: eTarget().data as Float32Array, dims: [1, 6, 32] },
    latent, alphaBar, prediction: 'epsilon', timestepType: 'int64', timestepShape: 'batch', steps: 10, batch: o.batch, seed: 1, ...over,
  };
}

/** Mean loss of `params` over fixed draws (seed 99): a training step at lr ~ 0 changes nothing. */
async function heldOutLoss(o: StageGraphOptions, params: Map<string, TensorValue>): Promise<number> {
  const input = stageInput({ ...o, lr: 1e-30 }, { steps: 12, seed: 99 });
  for (const l of input.step.layout) input.step.state[0].init.set(params.get(l.name)!.data as Float32Array, l.offset);
  const { losses } = await trainStage(input);
  return losses.reduce((a, b) => a + b, 0) / losses.length;
}

test('stage 1: optimising the embedding lowers the loss on held-out noise draws', async () => {
  const o: StageGraphOptions = { mode: 'embedding', lr: 5e-2, batch: 4, embedding: eTarget() };
  const before = await heldOutLoss(o, new Map([[EMBEDDING, eTarget()]]));
  const r = await trainStage(stageInput(o, { steps: 60 }));
  assert.equal(r.losses.length, 60);
  const eOpt = r.params.get(EMBEDDING)!;
  assert.deepEqual(eOpt.dims, [1, 6, 32]);
  assert.notDeepEqual(Array.from(eOpt.data as Float32Array), Array.from(eTarget().data as Float32Array));
  const after = await heldOutLoss(o, r.params);
  assert.ok(after < before * 0.97, `held-out loss should fall: ${before} -> ${after}`);
});

test('the UNet gradient with respect to encoder_hidden_states matches central differences', async () => {
  const g = loadModel(unet);
  const out = g.tensor('out_sample');
  g.outputs.length = 0;
  const target = g.input('target', 'float32', out.shape);
  g.output(mseLoss(g, out, target), 'loss');
  const grad = gradients(g, { seeds: [{ output: 'loss', grad: g.constant(1, 'float32', []) }], wrt: ['encoder_hidden_states'] });
  g.output(grad.get('encoder_hidden_states')!, 'grad');
  const session = await createSession(g);
  const rng = new SeededRandom(3);
  const feeds = {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(256)), [1, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([500n]), [1]),
    target: new ort.Tensor('float32', rng.fillNormal(new Float32Array(256)), [1, 4, 8, 8]),
  };
  const e = eTarget().data as Float32Array;
  const run = async (x: Float32Array) => session.run({ ...feeds, encoder_hidden_states: new ort.Tensor('float32', x, [1, 6, 32]) });
  const gr = (await run(e)).grad.data as Float32Array;
  for (const j of [0, 37, 100, 191]) {
    const h = 1e-2;
    const plus = e.slice(); plus[j] += h;
    const minus = e.slice(); minus[j] -= h;
    const num = (((await run(plus)).loss.data as Float32Array)[0] - ((await run(minus)).loss.data as Float32Array)[0]) / (2 * h);
    assert.ok(Math.abs(num - gr[j]) < 2e-3 + 0.05 * Math.abs(num), `d loss / d e[${j}]: numeric ${num}, graph ${gr[j]}`);
  }
});

test('stage 2 with every weight: the fine-tuning loss falls', async () => {
  const o: StageGraphOptions = { mode: 'full', lr: 2e-3, batch: 4 };
  const input = stageInput(o, { steps: 40 });
  assert.equal(input.step.layout.length, 24, 'every float weight of the fixture is trained');
  assert.equal(countParameters(unet), input.step.state[0].init.length);
  const initial = new Map(input.step.layout.map((l) => [l.name, { dtype: 'float32' as const, dims: l.dims, data: input.step.state[0].init.slice(l.offset, l.offset + l.size) }]));
  const before = await heldOutLoss(o, initial);
  const r = await trainStage(input);
  const after = await heldOutLoss(o, r.params);
  assert.ok(after < before * 0.9, `held-out loss should fall: ${before} -> ${after}`);
});

test('LoRA: the injected UNet starts as the original, and training the adapters lowers the loss', async () => {
  const g = loadModel(unet);
  const sites = injectLora(g, { rank: 2, targets: () => true });
  assert.ok(sites.length >= 4, 'the attention projections are adapted');
  const base = await ort.InferenceSession.create(unet);
  const adapted = await createSession(toOnnx(g));
  const rng = new SeededRandom(5);
  const feeds = {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(256)), [1, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([300n]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', eTarget().data as Float32Array, [1, 6, 32]),
  };
  assert.deepEqual(Array.from((await adapted.run(feeds)).out_sample.data as Float32Array), Array.from((await base.run(feeds)).out_sample.data as Float32Array));

  const o: StageGraphOptions = { mode: 'lora', lr: 1e-2, batch: 4, loraRank: 2 };
  const input = stageInput(o, { steps: 40 });
  assert.equal(input.step.layout.length, 2 * sites.length, 'only the adapters train');
  const initial = new Map(input.step.layout.map((l) => [l.name, { dtype: 'float32' as const, dims: l.dims, data: input.step.state[0].init.slice(l.offset, l.offset + l.size) }]));
  const before = await heldOutLoss(o, initial);
  const r = await trainStage(input);
  const after = await heldOutLoss(o, r.params);
  assert.ok(after < before, `held-out loss should fall: ${before} -> ${after}`);
});
