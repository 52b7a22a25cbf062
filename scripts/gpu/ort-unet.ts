/**
 * Running an exported SD 1.5-architecture UNet folder (src/sidecar/nn/sd15/export.ts) through
 * onnxruntime-node on a chosen execution provider, timing it, and comparing with PyTorch's output.
 * Used by the CPU test and, bundled, by the device check (scripts/gpu/device-check.sh).
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/sidecar/nn/sd15/weights';
import { halfToFloat, toHalfBits } from '../../src/sidecar/nn/sd15/fp16';
import type { TensorValue } from '../../src/sidecar/graph/types';

export type Provider = 'cpu' | 'cuda';

export async function openSession(model: string, ep: Provider, threads = 1): Promise<ort.InferenceSession> {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] = ep === 'cuda' ? [{ name: 'cuda', deviceId: 0 } as ort.InferenceSession.ExecutionProviderConfig] : ['cpu'];
  return ort.InferenceSession.create(model, {
    executionProviders: providers, graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: threads,
  });
}

/** The folder's inputs, converted to the model's float type (fp16 models take float16 tensors). */
export function loadInputs(dir: string, precision: 'fp32' | 'fp16'): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, v] of readSafetensors(join(dir, 'inputs.safetensors'))) feeds[name] = toOrt(v, precision);
  return feeds;
}

function toOrt(v: TensorValue, precision: 'fp32' | 'fp16'): ort.Tensor {
  if (v.dtype === 'float32' && precision === 'fp16') {
    const src = v.data as Float32Array, half = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) half[i] = toHalfBits(src[i]);
    return new ort.Tensor('float16', half, v.dims);
  }
  return new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, v.dims);
}

/** A tensor's values as float32 (float16 outputs widened). */
export function asFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return Float32Array.from(t.data as Uint16Array, halfToFloat);
  throw new Error(`expected a float tensor, got ${t.type}`);
}

export interface Timing { median_ms: number; min_ms: number; iters: number }

/** Runs `warmup` untimed then `iters` timed forward passes; returns the timing and the last output. */
export async function timeRuns(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, iters: number, warmup: number): Promise<{ timing: Timing; out: Float32Array; dims: readonly number[] }> {
  const times: number[] = [];
  let last: ort.Tensor | undefined;
  for (let i = 0; i < warmup + iters; i++) {
    const t0 = performance.now();
    const r = await s.run(feeds);
    const dt = performance.now() - t0;
    if (i >= warmup) times.push(dt);
    last = r[s.outputNames[0]]; // out_sample (UNet) or sample (VAE decoder)
  }
  times.sort((a, b) => a - b);
  return { timing: { median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], iters }, out: asFloat32(last!), dims: last!.dims };
}

export interface Diff { max_abs: number; mean_abs: number; ref_max_abs: number }

export function compare(a: Float32Array, b: Float32Array): Diff {
  if (a.length !== b.length) throw new Error(`outputs differ in size: ${a.length} vs ${b.length}`);
  let max = 0, sum = 0, ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = d; // NaN propagates as the max
    sum += d;
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return { max_abs: max, mean_abs: sum / a.length, ref_max_abs: ref };
}

export function readOutput(path: string): Float32Array {
  const v = readSafetensors(path).get('out_sample');
  if (!v || v.dtype !== 'float32') throw new Error(`${path} holds no float32 out_sample`);
  return v.data as Float32Array;
}

export function writeOutput(path: string, out: Float32Array, dims: readonly number[]): void {
  writeSafetensors(path, [['out_sample', { dtype: 'float32', dims: [...dims], data: out }]]);
}
