/**
 * A narrower copy of an embedded-family UNet (unet.ts): the same blocks with fewer channels, its
 * weights initialised from the teacher's leading channels. Guided distillation can train such a student
 * in stage 1 (a regression on the teacher's guided outputs, which does not need the teacher's
 * architecture): per evaluation it costs about what its width saves, which on the tiny embedded UNet is
 * where the speed of a few-step student comes from once every other cost of a request is small.
 *
 * Only for UNets this project built (the names and shapes are checked against unet.ts); a foreign export
 * keeps its architecture (LoRA or full fine-tuning of a copy).
 */
import { weightNames, type Graph } from '../graph';
import type { TensorValue } from '../graph/types';
import type { FamilyConfig } from './config';
import { EMOJI_BASE } from './config';
import { unetGraph } from './unet';

export class NarrowUnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NarrowUnetError';
  }
}

/**
 * The family sizes a UNet graph was built with, read from its inputs and weights; `headDim` comes from
 * its unet/config.json (attention_head_dim). Throws unless unet.ts rebuilds exactly its weights.
 */
export function unetFamilyConfig(teacher: Graph, headDim: number, where: string): FamilyConfig {
  const dims = (name: string) => teacher.initializers.get(name)?.dims;
  // With an outer ResBlock level (the 64x64 family) conv_in feeds it and down0 enters the attention levels.
  const convIn = dims('conv_in.weight'), t2 = dims('t2.weight'), down0 = dims('down0.weight');
  const sample = teacher.inputs.includes('sample') ? teacher.tensor('sample').shape : undefined;
  const ctx = teacher.inputs.includes('encoder_hidden_states') ? teacher.tensor('encoder_hidden_states').shape : undefined;
  const notFamily = (why: string) => new NarrowUnetError(`${where} is not an embedded-family UNet (${why}); a narrower student can only be built from one`);
  if (!convIn || !t2 || !sample || !ctx) throw notFamily('conv_in, t2, sample or encoder_hidden_states missing');
  const [first, latent] = convIn.map(Number), side = Number(sample[2]);
  let outerBlocks = 1; // blocks past the first of a deepened outer level are d0_1, d0_2, ...
  while (teacher.initializers.has(`d0_${outerBlocks}.c1.weight`)) outerBlocks++;
  const c = down0 ? Number(down0[0]) : first;
  const [length, textDim] = [Number(ctx[1]), Number(ctx[2])];
  if (![c, latent, side, length, textDim, headDim].every((n) => Number.isInteger(n) && n > 0) || c % headDim !== 0) {
    throw notFamily('its sizes are not static');
  }
  const cfg: FamilyConfig = {
    ...EMOJI_BASE, vocab: 0, length, textDim, imageSize: side * 4, latentChannels: latent,
    unetChannels: c, unetTimeDim: Number(t2[0]), unetHeads: c / headDim,
    ...(down0 ? { unetOuterChannels: first } : {}),
    ...(outerBlocks > 1 ? { unetOuterBlocks: outerBlocks } : {}),
    ...(teacher.initializers.has('pooled_text.l1.weight') ? { unetPooledText: true } : {}),
  };
  const rebuilt = unetGraph(cfg);
  const mine = weightNames(teacher);
  const theirs = weightNames(rebuilt);
  for (const name of theirs) {
    const v = rebuilt.initializers.get(name)!, t = teacher.initializers.get(name);
    if (!t || t.dims.join('x') !== v.dims.join('x')) throw notFamily(`weight ${name} ${t ? `is ${t.dims.join('x')}, expected ${v.dims.join('x')}` : 'is missing'}`);
  }
  if (mine.length !== theirs.length) throw notFamily(`${mine.length} weights where unet.ts has ${theirs.length}`);
  return cfg;
}

/**
 * The same UNet with `channels` channels in its attention levels (same heads, time-embedding width, text
 * width and outer level, whose 16x16 convolutions are cheap next to attention), each weight
 * initialised from the teacher's: every axis keeps its leading entries; the inputs of the up blocks,
 * which concatenate [h, skip], keep the leading entries of both halves.
 */
export function narrowUnetGraph(teacher: Graph, cfg: FamilyConfig, channels: number, seed = 0): Graph {
  checkStudentChannels(cfg, channels);
  const g = unetGraph({ ...cfg, unetChannels: channels }, seed);
  for (const name of weightNames(g)) {
    const v = g.initializers.get(name)!, t = teacher.initializers.get(name);
    if (!t) continue;
    g.initializers.set(name, { dtype: 'float32', dims: [...v.dims], data: sliceLeading(t, v.dims.map(Number), cfg.unetChannels, channels) });
  }
  return g;
}

/** Throws unless `channels` is a width the family's blocks allow (GroupNorm's 8 groups, the heads) up to the teacher's. */
export function checkStudentChannels(cfg: FamilyConfig, channels: number): void {
  if (!Number.isInteger(channels) || channels < 8 || channels % 8 !== 0 || channels % cfg.unetHeads !== 0 || channels > cfg.unetChannels) {
    throw new NarrowUnetError(
      `student channels must be a multiple of 8 and of the ${cfg.unetHeads} attention heads, from 8 to the teacher's ${cfg.unetChannels}; got ${channels}`,
    );
  }
}

/** Index map per axis: the leading entries ([h, skip] inputs: the leading entries of both halves). */
function axisIndices(from: number, to: number, c: number, cs: number): number[] {
  const bothHalves = from === 2 * c && to === 2 * cs && from !== to;
  return Array.from({ length: to }, (_, i) => (bothHalves && i >= cs ? c + i - cs : i));
}

function sliceLeading(t: TensorValue, shape: number[], c: number, cs: number): Float32Array {
  const src = t.data as Float32Array;
  const from = t.dims.map(Number);
  const maps = shape.map((to, a) => axisIndices(from[a], to, c, cs));
  const strides = from.map((_, a) => from.slice(a + 1).reduce((x, y) => x * y, 1));
  const out = new Float32Array(shape.reduce((x, y) => x * y, 1));
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < out.length; k++) {
    let off = 0;
    for (let a = 0; a < shape.length; a++) off += maps[a][idx[a]] * strides[a];
    out[k] = src[off];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}
