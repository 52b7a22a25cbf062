// A training step built on a model this project did not build (the PyTorch export of
// test/unit/graph/fixtures), as distillation and Imagic do with a user's UNet file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Rng, loadModel } from '../../../src/sidecar/graph';
import { mseLoss } from '../../../src/sidecar/train/losses';
import { buildTrainStep } from '../../../src/sidecar/train/train-step';
import { Trainer } from '../../../src/sidecar/train/trainer';

test('an imported PyTorch export trains through buildTrainStep and Trainer', async () => {
  const g = loadModel(join(__dirname, '..', 'graph', 'fixtures', 'torch-block.onnx'));
  const y = g.tensor('y');
  g.outputs.length = 0;
  const params = [...g.initializers].filter(([, v]) => v.dtype === 'float32' && v.data.length > 1).map(([n]) => n);
  const step = buildTrainStep(g, { loss: mseLoss(g, y, g.input('target', 'float32', y.shape)), optimizer: { type: 'adam', lr: 3e-3 }, params, clipNorm: 10 });
  const t = await Trainer.create(step, { seed: 2 });
  const rng = new Rng(4), n = 2 * 8 * 36;
  const x = new ort.Tensor('float32', rng.fillNormal(new Float32Array(n)), [2, 8, 6, 6]);
  const batch = {
    x, t: new ort.Tensor('float32', Float32Array.of(3, 9), [2]), context: new ort.Tensor('float32', rng.fillNormal(new Float32Array(60)), [2, 5, 6]),
    target: new ort.Tensor('float32', (x.data as Float32Array).map((v) => 0.5 * v), [2, 8, 6, 6]),
  };
  const losses = await t.fit({ steps: 25, batch: () => batch });
  assert.ok(losses[24] < losses[0] * 0.6, `${losses[0]} -> ${losses[24]}`);
  assert.deepEqual(t.params().get('conv.weight')!.dims, [8, 8, 3, 3]);
  await t.dispose();
});
