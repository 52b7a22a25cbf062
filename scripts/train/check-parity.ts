/**
 * Checks the TypeScript graphs (src/sidecar/nn) against the PyTorch reference on the cases written by
 * scripts/train/parity.py: same weights, same inputs, outputs must agree to float32 rounding.
 * Usage: /usr/bin/python3 scripts/train/parity.py && npx tsx scripts/train/check-parity.ts
 */
import * as ort from 'onnxruntime-node';
import { createSession, type Graph } from '../../src/sidecar/graph';
import { readSafetensors } from '../../src/sidecar/io/safetensors';
import { EMOJI_BASE, textEncoderGraph, imageEncoderGraph, vaeEncoderGraph, vaeDecoderGraph, unetGraph } from '../../src/sidecar/nn';
import { applyWeights } from '../../src/sidecar/nn/weights';

const cfg = { ...EMOJI_BASE, vocab: 1567 };
const INT_INPUTS = new Set(['input_ids', 'timestep']);

async function check(name: string, g: Graph): Promise<number> {
  const all = readSafetensors(`.cache/ref/parity/${name}.safetensors`).tensors;
  const weights = new Map([...all].filter(([k]) => !k.startsWith('__')));
  applyWeights(g, weights, name);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of all) {
    if (!k.startsWith('__in__.')) continue;
    const n = k.slice(7);
    const data = v.data as Float32Array;
    feeds[n] = INT_INPUTS.has(n) ? new ort.Tensor('int64', BigInt64Array.from(data, (x) => BigInt(x)), v.dims) : new ort.Tensor('float32', data, v.dims);
  }
  const s = await createSession(g);
  const out = await s.run(feeds);
  let worst = 0;
  for (const [k, v] of all) {
    if (!k.startsWith('__out__.')) continue;
    const got = out[k.slice(8)].data as Float32Array;
    const want = v.data as Float32Array;
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    console.log(`${name}.${k.slice(8)}: max abs diff ${err.toExponential(2)}`);
    worst = Math.max(worst, err);
  }
  return worst;
}

async function main(): Promise<void> {
  let worst = 0;
  worst = Math.max(worst, await check('text_encoder', textEncoderGraph(cfg)));
  worst = Math.max(worst, await check('image_encoder', imageEncoderGraph(cfg)));
  worst = Math.max(worst, await check('vae_encoder', vaeEncoderGraph(cfg)));
  worst = Math.max(worst, await check('vae_decoder', vaeDecoderGraph(cfg)));
  worst = Math.max(worst, await check('unet', unetGraph(cfg)));
  if (worst > 1e-3) throw new Error(`parity check failed: max abs diff ${worst}`);
  console.log('parity ok');
}
void main();
