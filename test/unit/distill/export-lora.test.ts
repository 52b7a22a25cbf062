// Exporting a LoRA student: the adapter sites kept from training (no second load of the UNet) and the
// merge written into the freshly loaded weights give a plain UNet that computes what the LoRA graph
// computes, and the same graph as finding the sites again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { createSession } from '../../../src/sidecar/graph';
import { Rng } from '../../../src/sidecar/graph/init';
import type { TensorValue } from '../../../src/sidecar/graph/types';
import { exportStudent, studentGraph, type StudentSpec } from '../../../src/sidecar/pipelines/distill/student';

const spec: StudentSpec = { unetPath: 'test/fixtures/tiny-sd/unet/model.onnx', addGuidance: false, loraRank: 2 };

test('a LoRA student exported with its training sites computes the adapted UNet, with no adapter left', async () => {
  const lora = studentGraph(spec);
  // Adapters as training might leave them: A and B both non-zero.
  const rng = new Rng(11);
  const trained = new Map<string, TensorValue>();
  for (const s of lora.lora) {
    for (const name of [s.a, s.b]) {
      const v = lora.graph.initializers.get(name)!;
      const data = rng.fillNormal(new Float32Array(v.data.length)).map((x) => 0.05 * x);
      lora.graph.initializers.set(name, { ...v, data });
      trained.set(name, { ...v, data });
    }
  }
  const exported = exportStudent(spec, trained, lora.lora);
  assert.ok(![...exported.initializers.keys()].some((n) => n.endsWith('.lora_A') || n.endsWith('.lora_B')), 'no adapter in the export');
  const again = exportStudent(spec, trained, studentGraph(spec).lora);
  for (const [n, v] of exported.initializers) {
    assert.deepEqual(v.data, again.initializers.get(n)!.data, `${n}: the same weights as with the sites found again`);
  }

  const [b, c, h, w] = [1, 4, 8, 8];
  const feeds = {
    sample: new ort.Tensor('float32', new Rng(1).fillNormal(new Float32Array(b * c * h * w)), [b, c, h, w]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([500n]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', new Rng(2).fillNormal(new Float32Array(b * 77 * 32)), [b, 77, 32]),
  };
  const run = async (g: typeof exported) => {
    const s = await createSession(g);
    const out = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
    await s.release();
    return out;
  };
  const [adapted, merged, plain] = await Promise.all([run(lora.graph), run(exported), run(studentGraph({ ...spec, loraRank: 0 }).graph)]);
  const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
  assert.ok(maxDiff(adapted, plain) > 1e-3, 'the adapters change the output');
  assert.ok(maxDiff(adapted, merged) < 1e-4, `merged vs adapted: max |diff| ${maxDiff(adapted, merged)}`);
});
