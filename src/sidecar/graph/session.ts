/**
 * ONNX Runtime sessions for graphs built here. CPU defaults: one intra-op thread (on the project's
 * shared 2-core VM, 2 threads cost twice the CPU time for no wall-time gain: `npm run bench:train --
 * --threads 1,2`, docs/BENCHMARKS.md), sequential execution, all graph optimisations, arena on.
 */
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph } from './graph';
import { saveModel, toOnnx } from './onnx';
import type { TensorValue } from './types';

export interface SessionOptions {
  /** Intra-op threads (default 1: measured faster than 2 on the 2-core CPU machines). */
  threads?: number;
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: string[];
  /**
   * Graphs whose initializers exceed this many bytes go to ORT through a temporary file with external
   * data (protobuf caps one message at 2 GB: e.g. LoRA on a Stable Diffusion UNet). Default 1.5e9.
   */
  externalDataAbove?: number;
}

export function sessionOptions(o: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: o.providers ?? ['cpu'],
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
  };
}

/** An InferenceSession for a graph (or ONNX bytes). */
export async function createSession(g: Graph | Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  if (g instanceof Uint8Array) return ort.InferenceSession.create(g, sessionOptions(o));
  const weightBytes = [...g.initializers.values()].reduce((s, v) => s + v.data.byteLength, 0);
  if (weightBytes <= (o.externalDataAbove ?? 1.5e9)) return ort.InferenceSession.create(toOnnx(g), sessionOptions(o));
  const dir = mkdtempSync(join(tmpdir(), 'ds-session-'));
  try {
    saveModel(g, join(dir, 'model.onnx'), { externalData: 'model.onnx_data' });
    return await ort.InferenceSession.create(join(dir, 'model.onnx'), sessionOptions(o));
  } finally {
    rmSync(dir, { recursive: true, force: true }); // ORT has read (or mapped) the weights by now
  }
}

/** An ort.Tensor viewing a TensorValue's data (no copy). */
export function toOrt(v: TensorValue): ort.Tensor {
  if (v.dtype === 'float16') return new ort.Tensor('float16', v.data as Uint16Array, v.dims);
  return new ort.Tensor(v.dtype, v.data as Float32Array, v.dims);
}

/** Float32 tensor from numbers. */
export function f32(data: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(data), dims);
}
