/**
 * The w-conditioned student graph: the time embedding is found in our own UNet and in an imported
 * PyTorch export, and the fresh student (last layer of g(w) at zero) gives the teacher's output exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { createSession, loadModel, toOnnx } from '../../../src/sidecar/graph';
import { unetGraph } from '../../../src/sidecar/nn/unet';
import { EMOJI_BASE } from '../../../src/sidecar/nn/config';
import { addGuidanceInput, findTimeEmbedding } from '../../../src/sidecar/nn/guided-unet';
import { Rng } from '../../../src/sidecar/graph/init';
import { storeWeightsAsHalf } from '../../../src/sidecar/pipelines/distill/half-weights';

const small = { ...EMOJI_BASE, vocab: 50, unetChannels: 16, unetTimeDim: 32, textDim: 16, unetHeads: 2 };

function feeds(B: number, L: number, D: number, withScale: boolean): Record<string, ort.Tensor> {
  const rng = new Rng(1);
  const f: Record<string, ort.Tensor> = {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(B * 4 * 8 * 8)), [B, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([999n, 500n, 3n].slice(0, B)), [B]),
    encoder_hidden_states: new ort.Tensor('float32', rng.fillNormal(new Float32Array(B * L * D)), [B, L, D]),
  };
  if (withScale) f.guidance_scale = new ort.Tensor('float32', Float32Array.from([1, 4.5, 9].slice(0, B)), [B]);
  return f;
}

/** The pooled-text path starts at zero; give it weights so the prompt reaches the time embedding. */
function withLivePooledText(g: ReturnType<typeof unetGraph>): ReturnType<typeof unetGraph> {
  for (const p of g.trainable) if (p.startsWith('pooled_text.l2')) (g.initializers.get(p)!.data as Float32Array).fill(0.01);
  return g;
}

for (const [name, make, L, D] of [
  ['the embedded UNet', () => unetGraph(small, 3), 16, 16],
  ['the 64x64 family\'s UNet (outer level, pooled text live)', () => withLivePooledText(unetGraph({ ...small, unetOuterChannels: 8, unetPooledText: true }, 3)), 16, 16],
  ['the tiny PyTorch export', () => loadModel('test/fixtures/tiny-sd/unet/model.onnx'), 16, 32],
] as const) {
  test(`${name}: guidance input added at the time embedding; the fresh student equals the teacher`, async () => {
    const teacher = make();
    const student = make();
    const temb = findTimeEmbedding(student);
    assert.deepEqual(student.tensor(temb).shape?.length, 2);
    addGuidanceInput(student);
    assert.ok(student.inputs.includes('guidance_scale'));
    const a = await (await createSession(toOnnx(teacher))).run(feeds(3, L, D, false));
    const b = await (await createSession(toOnnx(student))).run(feeds(3, L, D, true));
    assert.deepEqual([...(b.out_sample.data as Float32Array)], [...(a.out_sample.data as Float32Array)]);
    // A non-zero last layer makes the output depend on the scale.
    for (const p of student.trainable) if (p.startsWith('guidance_embedding')) (student.initializers.get(p)!.data as Float32Array).fill(0.01);
    const c = await (await createSession(toOnnx(student))).run(feeds(3, L, D, true));
    assert.notDeepEqual([...(c.out_sample.data as Float32Array)], [...(a.out_sample.data as Float32Array)]);
  });
}

test('a UNet without a timestep input is refused with a clear message', () => {
  const g = unetGraph(small, 0);
  g.inputs.splice(g.inputs.indexOf('timestep'), 1);
  assert.throws(() => addGuidanceInput(g), /no "timestep" input/);
});

test('weights stored as float16 halve the file and keep the output within float16 rounding', async () => {
  const full = unetGraph(small, 5), half = unetGraph(small, 5);
  assert.ok(storeWeightsAsHalf(half) > 50);
  const [a, b] = [toOnnx(full), toOnnx(half)];
  assert.ok(b.length < 0.7 * a.length, `${b.length} vs ${a.length} bytes`);
  const oa = (await (await createSession(a)).run(feeds(3, 16, 16, false))).out_sample.data as Float32Array;
  const ob = (await (await createSession(b)).run(feeds(3, 16, 16, false))).out_sample.data as Float32Array;
  const scale = Math.max(...oa.map(Math.abs));
  const err = Math.max(...oa.map((v, k) => Math.abs(v - ob[k])));
  assert.ok(err > 0 && err < 0.02 * scale, `max error ${err} (outputs up to ${scale})`);
});
