// The CUDA probe's model (src/sidecar/runtime/providers.ts), built with the graph builder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { identityModel } from '../../../src/sidecar/runtime/providers';

test('the CUDA probe model loads and computes y = x on the CPU', async () => {
  const s = await ort.InferenceSession.create(identityModel(), { executionProviders: ['cpu'] });
  const y = (await s.run({ x: new ort.Tensor('float32', Float32Array.of(3.5), [1]) })).y;
  assert.deepEqual([...(y.data as Float32Array)], [3.5]);
  await s.release();
});
