// Every component of the project's own model family differentiates (w.r.t. all its parameters and
// float inputs) into a graph ONNX Runtime loads: an op added to a model without a gradient rule fails here.
import { test } from 'node:test';
import { EMOJI_BASE } from '../../../src/sidecar/nn';
import { componentGraph, COMPONENTS } from '../../../src/sidecar/nn/family';
import { createSession, gradientModel, toOnnx } from '../../../src/sidecar/graph';

for (const c of COMPONENTS) {
  test(`${c}: gradient graph builds and loads`, async () => {
    const g = componentGraph(c, { ...EMOJI_BASE, vocab: 1567 }, 0);
    gradientModel(g, [...g.trainable, ...g.inputs.filter((i) => g.tensor(i).dtype === 'float32')]);
    await (await createSession(toOnnx(g))).release();
  });
}
