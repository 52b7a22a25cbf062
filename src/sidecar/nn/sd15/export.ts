/**
 * Writes an SD 1.5-architecture UNet with seeded random weights as a folder that both engines read:
 *   config.json              the architecture, for scripts/gpu/torch_unet.py
 *   weights.safetensors      float32 weights in PyTorch's layout with diffusers' names
 *   inputs.safetensors       a seeded batch: sample, timestep, encoder_hidden_states
 *   fp32/model.onnx (+ model.onnx_data)   and   fp16/model.onnx (+ model.onnx_data)
 *   fp16-mha/model.onnx (+ data)           with fusedAttentionVariant: fused attention, same weights
 * Weights live in external data (the fp32 UNet is 3.4 GB, beyond protobuf's 2 GB).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../graph/graph';
import { saveModel } from '../../graph/onnx';
import { Rng } from '../../graph/init';
import { buildSd15Unet, torchConfig, type Sd15UnetConfig } from '../sd15-unet';
import { convertToFloat16 } from './fp16';
import { buildSd15VaeDecoder, torchVaeConfig, type Sd15VaeConfig } from './vae-decoder';
import { torchStateDict, writeSafetensors } from './weights';

export type Precision = 'fp32' | 'fp16';

export interface ExportOptions {
  seed?: number;
  precisions?: Precision[];
  /** Batch of the sample inputs written (2 = one guided step: unconditional + conditional). */
  batch?: number;
  timestep?: number;
  /** Also write fp16-mha/: the same weights with com.microsoft MultiHeadAttention (fp16 only). */
  fusedAttentionVariant?: boolean;
  /** Skip weights.safetensors (PyTorch then cannot load the same weights). */
  skipTorchWeights?: boolean;
  log?: (msg: string) => void;
}

export interface ExportResult {
  dir: string;
  parameters: number;
  models: Partial<Record<Precision | 'fp16-mha', string>>;
  seconds: Record<string, number>;
}

export function exportSd15Unet(cfg: Sd15UnetConfig, dir: string, o: ExportOptions = {}): ExportResult {
  const log = o.log ?? (() => {});
  const seconds: Record<string, number> = {};
  const timed = <T>(label: string, fn: () => T): T => {
    const t0 = performance.now();
    const r = fn();
    seconds[label] = (performance.now() - t0) / 1000;
    log(`${label}: ${seconds[label].toFixed(1)} s`);
    return r;
  };
  mkdirSync(dir, { recursive: true });
  const built = timed('build', () => buildSd15Unet(cfg, { seed: o.seed ?? 0 }));
  const g = built.graph;
  let parameters = 0;
  for (const name of g.trainable) parameters += g.initializers.get(name)!.data.length;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(torchConfig(cfg), null, 2) + '\n');
  if (!o.skipTorchWeights) timed('weights.safetensors', () => writeSafetensors(join(dir, 'weights.safetensors'), torchStateDict(g)));
  writeInputs(join(dir, 'inputs.safetensors'), cfg, o.batch ?? 2, o.timestep ?? 500, (o.seed ?? 0) + 1);
  const models: ExportResult['models'] = {};
  const precisions = o.precisions ?? ['fp32', 'fp16'];
  const save = (graph: Graph, name: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    const path = join(dir, name, 'model.onnx');
    timed(`save ${name}`, () => saveModel(graph, path, { externalData: 'model.onnx_data' }));
    return path;
  };
  if (precisions.includes('fp32')) models.fp32 = save(g, 'fp32');
  if (precisions.includes('fp16')) {
    // The fused-attention variant shares the float32 weights (and so their one fp16 conversion).
    const fused = o.fusedAttentionVariant && cfg.attention !== 'mha' ? buildSd15Unet({ ...cfg, attention: 'mha' }, { weightsFrom: g }) : undefined;
    timed('fp16 conversion', () => convertToFloat16(g, built.float32Nodes));
    models.fp16 = save(g, 'fp16');
    if (fused) {
      convertToFloat16(fused.graph, fused.float32Nodes);
      models['fp16-mha'] = save(fused.graph, 'fp16-mha');
    }
  }
  return { dir, parameters, models, seconds };
}

/** Seeded inputs: latents ~ N(0, 1), text embeddings ~ N(0, 1), one timestep for the whole batch. */
export function writeInputs(path: string, cfg: Sd15UnetConfig, batch: number, timestep: number, seed: number): void {
  const rng = new Rng(seed);
  const s = cfg.sampleSize;
  const sample = rng.fillNormal(new Float32Array(batch * cfg.inChannels * s * s));
  const context = rng.fillNormal(new Float32Array(batch * cfg.sequenceLength * cfg.crossAttentionDim));
  writeSafetensors(path, [
    ['sample', { dtype: 'float32', dims: [batch, cfg.inChannels, s, s], data: sample }],
    ['timestep', { dtype: 'int64', dims: [batch], data: new BigInt64Array(batch).fill(BigInt(timestep)) }],
    ['encoder_hidden_states', { dtype: 'float32', dims: [batch, cfg.sequenceLength, cfg.crossAttentionDim], data: context }],
  ]);
}

/**
 * The VAE decoder the same way: config.json, weights.safetensors, inputs.safetensors (latent_sample,
 * one image), fp32/ and fp16/ (no float32 island: it has no timestep).
 */
export function exportSd15VaeDecoder(cfg: Sd15VaeConfig, dir: string, o: ExportOptions = {}): ExportResult {
  const seconds: Record<string, number> = {};
  mkdirSync(dir, { recursive: true });
  let t0 = performance.now();
  const g = buildSd15VaeDecoder(cfg, { seed: o.seed ?? 0 });
  seconds.build = (performance.now() - t0) / 1000;
  let parameters = 0;
  for (const name of g.trainable) parameters += g.initializers.get(name)!.data.length;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(torchVaeConfig(cfg), null, 2) + '\n');
  writeSafetensors(join(dir, 'weights.safetensors'), torchStateDict(g));
  const rng = new Rng((o.seed ?? 0) + 1);
  const s = cfg.latentSize, n = o.batch ?? 1;
  const latent = rng.fillNormal(new Float32Array(n * cfg.latentChannels * s * s));
  writeSafetensors(join(dir, 'inputs.safetensors'), [['latent_sample', { dtype: 'float32', dims: [n, cfg.latentChannels, s, s], data: latent }]]);
  const models: ExportResult['models'] = {};
  for (const p of (['fp32', 'fp16'] as const).filter((x) => (o.precisions ?? ['fp32', 'fp16']).includes(x))) {
    t0 = performance.now();
    if (p === 'fp16') convertToFloat16(g);
    mkdirSync(join(dir, p), { recursive: true });
    models[p] = join(dir, p, 'model.onnx');
    saveModel(g, models[p]!, { externalData: 'model.onnx_data' });
    seconds[`save ${p}`] = (performance.now() - t0) / 1000;
  }
  return { dir, parameters, models, seconds };
}
