/**
 * ONNX Runtime sessions for graphs built here. CPU defaults follow KNOWLEDGE.md measurements on the
 * 2-core machines: one intra-op thread, sequential execution, all graph optimisations, arena on.
 */
import * as ort from 'onnxruntime-node';
import type { Graph } from './graph';
import { toOnnx } from './onnx';
import type { TensorValue } from './types';

export interface SessionOptions {
  /** Intra-op threads (default 1: measured faster than 2 on the 2-core CPU machines). */
  threads?: number;
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: string[];
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
  const bytes = g instanceof Uint8Array ? g : toOnnx(g);
  return ort.InferenceSession.create(bytes, sessionOptions(o));
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
