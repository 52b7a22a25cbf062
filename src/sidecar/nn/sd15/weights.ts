/**
 * Exchanging the SD 1.5 UNet's weights with PyTorch (scripts/gpu/torch_unet.py) through safetensors
 * (io/safetensors.ts: streamed, atomic). Written with diffusers' names and layouts, so PyTorch loads them with
 * strict=True: Linear weights, [in, out] in our graphs (x @ W), are transposed to PyTorch's [out, in].
 * In this architecture every 2-D parameter is a Linear weight, and only those.
 */
import type { Graph } from '../../graph/graph';
import type { TensorValue } from '../../graph/types';
import { readSafetensors as readFile, writeSafetensors as writeFile, type LazyTensor, type TensorSource } from '../../io/safetensors';

/** Writes named tensors as one safetensors file, atomically and tensor by tensor (the full UNet is 3.4 GB). */
export function writeSafetensors(path: string, tensors: TensorSource): void {
  writeFile(path, tensors);
}

/** Every tensor of a safetensors file (read by offset: files over 2 GiB work). */
export function readSafetensors(path: string): Map<string, TensorValue> {
  return readFile(path).tensors;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(v: TensorValue): TensorValue {
  const [r, c] = v.dims;
  const src = v.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
  return { dtype: v.dtype, dims: [c, r], data: out };
}

/** The trainable parameters of a float32 UNet graph, in PyTorch's layout, as diffusers names them. */
export function* torchStateDict(g: Graph): Generator<[string, TensorValue | LazyTensor]> {
  for (const name of g.trainable) {
    const v = g.initializers.get(name);
    if (!v) throw new Error(`parameter ${name} has no value`);
    if (v.dtype !== 'float32') throw new Error(`export the weights before converting the graph to fp16 (${name} is ${v.dtype})`);
    // Transposed only when the writer reaches it: one transposed copy in memory at a time, not 3.4 GB.
    const lazy: LazyTensor = { dtype: v.dtype, dims: [v.dims[1], v.dims[0]], chunks: () => [bytes(transpose2d(v))] };
    yield [name, v.dims.length === 2 ? lazy : v];
  }
}

const bytes = (v: TensorValue): Uint8Array => new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
