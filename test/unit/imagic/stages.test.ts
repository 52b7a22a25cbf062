// Imagic's trained stages on the tiny SD-layout fixture (real ONNX Runtime sessions on the model's own
// unet/model.onnx): stage 1 lowers the reconstruction loss, LoRA starts at the original model and
// trains, and the loss graph's embedding gradient matches finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, loadModel, toOnnx } from '../../../src/sidecar/graph';
import { alphaBarFor } from '../../../src/sidecar/schedulers/noise-schedule';
import { defaultSchedulerConfig } from '../../../src/sidecar/schedulers/config';
import { SeededRandom } from '../../../src/sidecar/schedulers/index';
import { buildLossGraph, countParameters } from '../../../src/sidecar/pipelines/imagic/loss-graph';
import { addLora } from '../../../src/sidecar/pipelines/imagic/lora';
import { trainStage, type StageInput } from '../../../src/sidecar/pipelines/imagic/train-stage';

const unet = join(__dirname, '..', '..', 'fixtures', 'tiny-sd', 'unet', 'model.onnx');
const alphaBar = alphaBarFor(defaultSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }));
const latent = { data: new SeededRandom(7).fillNormal(new Float32Array(4 * 8 * 8)), dims: [1, 4, 8, 8] };
const embedding = () => ({ data: new SeededRandom(8).fillNormal(new Float32Array(6 * 32)), dims: [1, 6, 32] });

function stage(session: ort.InferenceSession, wrt: string[], params: StageInput['params'], over: Partial<StageInput>): StageInput {
  return { session, wrt, params, embedding: embedding(), latent, alphaBar, prediction: 'epsilon', timestepType: 'int64', timestepShape: 'batch', steps: 10, lr: 1e-2, batch: 4, seed: 1, ...over };
}

/** Mean loss over fixed draws (same seed): lr ~ 0 leaves the parameters as they are. */
async function heldOutLoss(session: ort.InferenceSession, wrt: string[], params: StageInput['params'], e = embedding()): Promise<number> {
  const frozen = new Map([...params].map(([k, v]) => [k, { data: v.data.slice(), dims: v.dims }]));
  const losses = await trainStage(stage(session, wrt, frozen, { embedding: e, steps: 12, lr: 1e-30, seed: 99 }));
  return losses.reduce((a, b) => a + b, 0) / losses.length;
}

test('stage 1: optimising the embedding lowers the loss on held-out noise draws', async () => {
  const built = buildLossGraph(unet, 'embedding');
  assert.deepEqual(built.wrt, ['encoder_hidden_states']);
  const session = await createSession(built.graph);
  const e = embedding();
  const params = new Map([['encoder_hidden_states', e]]);
  const before = await heldOutLoss(session, built.wrt, params);
  const losses = await trainStage(stage(session, built.wrt, params, { steps: 60, lr: 5e-2 }));
  assert.equal(losses.length, 60);
  const after = await heldOutLoss(session, built.wrt, params);
  assert.ok(after < before * 0.97, `held-out loss should fall: ${before} -> ${after}`);
  assert.notDeepEqual(Array.from(e.data), Array.from(embedding().data));
});

test('stage 1 gradient matches central differences of the loss', async () => {
  const built = buildLossGraph(unet, 'embedding');
  const session = await createSession(built.graph);
  const rng = new SeededRandom(3);
  const feeds = {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(256)), [1, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([500n]), [1]),
    target: new ort.Tensor('float32', rng.fillNormal(new Float32Array(256)), [1, 4, 8, 8]),
  };
  const e = embedding().data;
  const run = async (x: Float32Array) => session.run({ ...feeds, encoder_hidden_states: new ort.Tensor('float32', x, [1, 6, 32]) });
  const g = (await run(e)).grad_encoder_hidden_states.data as Float32Array;
  for (const j of [0, 37, 100, 191]) {
    const h = 1e-2;
    const plus = e.slice(); plus[j] += h;
    const minus = e.slice(); minus[j] -= h;
    const num = (((await run(plus)).loss.data as Float32Array)[0] - ((await run(minus)).loss.data as Float32Array)[0]) / (2 * h);
    assert.ok(Math.abs(num - g[j]) < 2e-3 + 0.05 * Math.abs(num), `d loss / d e[${j}]: numeric ${num}, graph ${g[j]}`);
  }
});

test('stage 2 with every weight: the fine-tuning loss falls', async () => {
  const built = buildLossGraph(unet, 'full');
  assert.equal(built.weights.size, 24, 'every float weight of the fixture is trained');
  assert.equal(countParameters(unet), [...built.weights.values()].reduce((s, v) => s + v.data.length, 0));
  const session = await createSession(built.graph);
  const params = new Map([...built.weights].map(([k, v]) => [k, { data: Float32Array.from(v.data as Float32Array), dims: v.dims }]));
  const before = await heldOutLoss(session, built.wrt, params);
  await trainStage(stage(session, built.wrt, params, { steps: 40, lr: 2e-3 }));
  const after = await heldOutLoss(session, built.wrt, params);
  assert.ok(after < before * 0.9, `held-out loss should fall: ${before} -> ${after}`);
});

test('LoRA: adapters start at the original model (B = 0), and training them lowers the loss', async () => {
  const g = loadModel(unet);
  const lora = addLora(g, 2);
  assert.equal(lora.layers.size, 4, 'the four attention projections are adapted');
  const base = await ort.InferenceSession.create(unet);
  const adapted = await createSession(toOnnx(g));
  const rng = new SeededRandom(5);
  const feeds = {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(256)), [1, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([300n]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', embedding().data, [1, 6, 32]),
  };
  const a = (await base.run(feeds)).out_sample.data as Float32Array;
  const b = (await adapted.run(feeds)).out_sample.data as Float32Array;
  assert.deepEqual(Array.from(b), Array.from(a));

  const built = buildLossGraph(unet, 'lora', 2);
  assert.equal(built.wrt.length, 8);
  const session = await createSession(built.graph);
  const params = new Map([...built.weights].map(([k, v]) => [k, { data: Float32Array.from(v.data as Float32Array), dims: v.dims }]));
  const before = await heldOutLoss(session, built.wrt, params);
  await trainStage(stage(session, built.wrt, params, { steps: 40, lr: 1e-2 }));
  const after = await heldOutLoss(session, built.wrt, params);
  assert.ok(after < before, `held-out loss should fall: ${before} -> ${after}`);
});
