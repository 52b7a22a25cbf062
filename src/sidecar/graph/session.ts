/**
 * ONNX Runtime sessions for graphs built here (or ONNX bytes), for tests and tools that run a graph
 * straight away. The app's settings (providers, threads) are decided by runtime/session-options.ts and
 * passed in; graph/ sets none itself, so without options ONNX Runtime's own defaults apply.
 */
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph } from './graph';
import { saveModel, toOnnx, toOnnxFeeding } from './onnx';
import type { TensorValue } from './types';

export interface SessionOptions extends ort.InferenceSession.SessionOptions {
  /**
   * Graphs whose initializers exceed this many bytes go to ORT through a temporary file with external
   * data (protobuf caps one message at 2 GB: e.g. LoRA on a Stable Diffusion UNet). Default 1.5e9.
   */
  externalDataAbove?: number;
}

/** An InferenceSession for a graph (or ONNX bytes). */
export async function createSession(g: Graph | Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  const { externalDataAbove = 1.5e9, ...options } = o;
  if (g instanceof Uint8Array) return ort.InferenceSession.create(g, options);
  const inputs = new Set(g.inputs); // an initializer listed as an input is fed, not serialised
  const weightBytes = [...g.initializers].reduce((s, [n, v]) => s + (inputs.has(n) ? 0 : v.data.byteLength), 0);
  if (weightBytes <= externalDataAbove) return ort.InferenceSession.create(toOnnx(g), options);
  const dir = mkdtempSync(join(tmpdir(), 'ds-session-'));
  try {
    saveModel(g, join(dir, 'model.onnx'), { externalData: 'model.onnx_data' });
    return await ort.InferenceSession.create(join(dir, 'model.onnx'), options);
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

/**
 * A session for `g` whose float weights of at least `minBytes` each are graph inputs, fed with every
 * run from `g`'s own arrays (ORT reads CPU input tensors in place): no copy in ORT and no temporary
 * file, where createSession would write a large graph's weights out and have ORT load them back (a
 * second 3.4 GB at SD 1.5 size). The cost: ORT cannot prepack fed weights, so a run may be a little
 * slower. The session's inputs, as seen by callers, are the graph's own.
 */
export async function createFedSession(g: Graph, minBytes: number, o: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const fed: Record<string, ort.Tensor> = {};
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const [name, v] of g.initializers) {
    if ((v.dtype === 'float32' || v.dtype === 'float16') && v.data.byteLength >= minBytes && used.has(name) && !g.inputs.includes(name)) fed[name] = toOrt(v);
  }
  const session = await ort.InferenceSession.create(toOnnxFeeding(g, Object.keys(fed)), o);
  return new FedSession(session, fed);
}

/** An InferenceSession that adds the same feeds (the weights) to every run. */
class FedSession implements ort.InferenceSession {
  constructor(private readonly session: ort.InferenceSession, private readonly fed: Readonly<Record<string, ort.Tensor>>) {}
  get inputNames(): readonly string[] {
    return this.session.inputNames.filter((n) => !(n in this.fed));
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }
  get inputMetadata(): readonly ort.InferenceSession.ValueMetadata[] {
    return this.session.inputMetadata.filter((m) => !(m.name in this.fed));
  }
  get outputMetadata(): readonly ort.InferenceSession.ValueMetadata[] {
    return this.session.outputMetadata;
  }
  startProfiling(): void {
    this.session.startProfiling();
  }
  endProfiling(): void {
    this.session.endProfiling();
  }
  run(feeds: ort.InferenceSession.FeedsType, ...rest: unknown[]): Promise<ort.InferenceSession.ReturnType> {
    return (this.session.run as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>)({ ...feeds, ...this.fed }, ...rest);
  }
  release(): Promise<void> {
    return this.session.release();
  }
}
