/**
 * The engine's gradients of the family's graphs against PyTorch's (scripts/train/grad-parity.py):
 * same weights, inputs and MSE loss; every parameter's gradient must agree.
 * Usage: /usr/bin/python3 scripts/train/grad-parity.py && npx tsx scripts/train/check-grad-parity.ts
 */
import * as ort from 'onnxruntime-node';
import { createSession, Graph } from '../../src/sidecar/graph';
import { gradients } from '../../src/sidecar/graph/autodiff';
import { mseLoss } from '../../src/sidecar/train/losses';
import { readSafetensors } from '../../src/sidecar/io/safetensors';
import { EMOJI_BASE, unet, textEncoder } from '../../src/sidecar/nn';
import { applyWeights } from '../../src/sidecar/nn/weights';

const cfg = { ...EMOJI_BASE, vocab: 1567 };

async function check(name: string, build: (g: Graph) => void): Promise<number> {
  const all = readSafetensors(`.cache/ref/parity/${name}-grad.safetensors`).tensors;
  const g = new Graph({ seed: 0 });
  build(g);
  applyWeights(g, new Map([...all].filter(([k]) => !k.startsWith('__'))), name);
  const loss = g.tensor('loss');
  const wrt = [...g.trainable].filter((k) => all.has(`__grad__.${k}`));
  const grads = gradients(g, { seeds: [{ output: loss.name, grad: g.constant(1, 'float32', []) }], wrt });
  for (const [k, t] of grads) g.output(t, `grad.${k}`);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of all) {
    if (!k.startsWith('__in__.')) continue;
    const n = k.slice(7), data = v.data as Float32Array;
    feeds[n] = n === 'input_ids' || n === 'timestep' ? new ort.Tensor('int64', BigInt64Array.from(data, (x) => BigInt(x)), v.dims) : new ort.Tensor('float32', data, v.dims);
  }
  const out = await (await createSession(g)).run(feeds);
  let worst = 0, worstName = '';
  for (const k of wrt) {
    const want = all.get(`__grad__.${k}`)!.data as Float32Array, got = out[`grad.${k}`].data as Float32Array;
    let scale = 1e-6, err = 0;
    for (let i = 0; i < want.length; i++) { scale = Math.max(scale, Math.abs(want[i])); err = Math.max(err, Math.abs(got[i] - want[i])); }
    if (err / scale > worst) { worst = err / scale; worstName = k; }
  }
  console.log(`${name}: ${wrt.length} gradients, worst relative error ${worst.toExponential(2)} (${worstName})`);
  return worst;
}

async function main(): Promise<void> {
  const lat = [3, 4, 8, 8];
  const w1 = await check('unet', (g) => {
    const out = unet(g, cfg, g.input('sample', 'float32', lat), g.input('timestep', 'int64', [3]), g.input('encoder_hidden_states', 'float32', [3, 16, 64]));
    g.output(mseLoss(g, out, g.input('target', 'float32', lat)), 'loss');
  });
  const w2 = await check('text_encoder', (g) => {
    const h = textEncoder(g, cfg, g.input('input_ids', 'int64', [3, 16])).lastHiddenState;
    g.output(mseLoss(g, h, g.input('target', 'float32', [3, 16, 64])), 'loss');
  });
  if (Math.max(w1, w2) > 1e-3) throw new Error('gradient parity failed');
  console.log('gradient parity ok');
}
void main();
