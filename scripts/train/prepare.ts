/**
 * Data the training stages share: images as float CHW, captions as token ids, and the frozen
 * encoders' outputs (VAE latents, text hidden states) computed once with ONNX Runtime.
 */
import * as ort from 'onnxruntime-node';
import { createSession, Graph } from '../../src/sidecar/graph';
import type { TensorValue } from '../../src/sidecar/graph/types';
import { loadEmojiDataset, imageToCHW, type EmojiDataset } from '../../src/sidecar/train/data/emoji';
import { buildTokenizer, loadTokenizer, encodePrompts, type TokenizerFiles } from '../../src/sidecar/train/data/tokenizer';
import { vaeEncoder, vaeDecoder, textEncoder, type FamilyConfig } from '../../src/sidecar/nn';
import { applyWeights } from '../../src/sidecar/nn/weights';
import { concatFloats } from '../../src/sidecar/pipelines/tensors';

export interface Prepared {
  ds: EmojiDataset;
  /** All images, [N, 3, S, S] in [-1, 1]. */
  pixels: Float32Array;
  tokenizer: TokenizerFiles;
  vocab: number;
  /** Token ids of every caption (flat [C, L]) and the image each belongs to; broad captions flagged. */
  ids: BigInt64Array;
  owner: Int32Array;
  broad: Uint8Array;
  emptyIds: BigInt64Array;
}

export async function prepare(length: number): Promise<Prepared> {
  const ds = await loadEmojiDataset('.cache/data');
  const per = 3 * ds.size * ds.size;
  const pixels = new Float32Array(ds.items.length * per);
  for (let i = 0; i < ds.items.length; i++) imageToCHW(ds, i, pixels, i * per);
  const tokenizer = buildTokenizer(ds.items.flatMap((x) => [...x.captions, x.broad ?? '']), length);
  const tok = loadTokenizer(tokenizer);
  const caps: string[] = [], owner: number[] = [], broad: number[] = [];
  ds.items.forEach((it, i) => {
    for (const c of it.captions) { caps.push(c); owner.push(i); broad.push(0); }
    if (it.broad) { caps.push(it.broad); owner.push(i); broad.push(1); }
  });
  const vocab = Object.keys((tokenizer.tokenizer.model as { vocab: object }).vocab).length;
  return {
    ds, pixels, tokenizer, vocab,
    ids: encodePrompts(tok, caps, length), owner: Int32Array.from(owner), broad: Uint8Array.from(broad),
    emptyIds: encodePrompts(tok, [''], length),
  };
}

async function runBatched(g: Graph, input: string, data: Float32Array | BigInt64Array, rowDims: number[], outputs: string[], batch = 256): Promise<Float32Array[]> {
  const s = await createSession(g);
  const per = rowDims.reduce((a, b) => a * b, 1);
  const n = data.length / per;
  const parts: Float32Array[][] = outputs.map(() => []);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const chunk = data.slice(i * per, (i + m) * per);
    const t = chunk instanceof BigInt64Array ? new ort.Tensor('int64', chunk, [m, ...rowDims]) : new ort.Tensor('float32', chunk, [m, ...rowDims]);
    const out = await s.run({ [input]: t });
    outputs.forEach((o, k) => parts[k].push(out[o].data as Float32Array));
  }
  await s.release();
  return parts.map(concatFloats);
}

/** Posterior mean and std of every image under the trained VAE encoder. */
export async function encodeLatents(cfg: FamilyConfig, enc: Map<string, TensorValue>, pixels: Float32Array): Promise<{ mean: Float32Array; std: Float32Array }> {
  const g = new Graph({ seed: 0 });
  const x = g.input('x', 'float32', ['batch', 3, cfg.imageSize, cfg.imageSize]);
  const m = vaeEncoder(g, cfg, x);
  g.output(m.mean, 'mean');
  g.output(g.exp(g.mul(g.node('Clip', [m.logvar, g.scalar(-30, m.logvar), g.scalar(20, m.logvar)])[0], 0.5)), 'std');
  applyWeights(g, enc, 'vae_encoder');
  const [mean, std] = await runBatched(g, 'x', pixels, [3, cfg.imageSize, cfg.imageSize], ['mean', 'std']);
  return { mean, std };
}

/** VAE reconstructions (decoder of the encoder's mean), clamped to [-1, 1]. */
export async function reconstruct(cfg: FamilyConfig, enc: Map<string, TensorValue>, dec: Map<string, TensorValue>, pixels: Float32Array): Promise<Float32Array> {
  const g = new Graph({ seed: 0 });
  const x = g.input('x', 'float32', ['batch', 3, cfg.imageSize, cfg.imageSize]);
  const mean = g.scope('enc', () => vaeEncoder(g, cfg, x)).mean;
  const rec = g.scope('dec', () => vaeDecoder(g, cfg, mean));
  g.output(g.node('Clip', [rec, g.scalar(-1, rec), g.scalar(1, rec)])[0], 'rec');
  const both = new Map<string, TensorValue>();
  for (const [k, v] of enc) both.set(`enc.${k}`, v);
  for (const [k, v] of dec) both.set(`dec.${k}`, v);
  applyWeights(g, both, 'vae');
  return (await runBatched(g, 'x', pixels, [3, cfg.imageSize, cfg.imageSize], ['rec']))[0];
}

/** last_hidden_state of every caption (flat [C, L, D]) under the trained text encoder. */
export async function encodeCaptions(cfg: FamilyConfig, te: Map<string, TensorValue>, ids: BigInt64Array): Promise<Float32Array> {
  const g = new Graph({ seed: 0 });
  const x = g.input('input_ids', 'int64', ['batch', cfg.length]);
  g.output(textEncoder(g, cfg, x).lastHiddenState, 'h');
  applyWeights(g, te, 'text_encoder');
  return (await runBatched(g, 'input_ids', ids, [cfg.length], ['h']))[0];
}
