/**
 * Finite-difference gradient checking for the autodiff rules. A case builds a forward graph; the
 * check differentiates L = sum(y * R) (R random, the seed) and compares each sampled element of
 * dL/dx with the central difference (L(x + h) - L(x - h)) / 2h computed by running the forward graph.
 */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, Rng, createSession, toOnnx, type Tensor, type DType } from '../../../src/sidecar/graph';
import { gradientModel } from '../../../src/sidecar/graph/autodiff';

export interface InputSpec {
  dims: number[];
  dtype?: DType; // default: the case's dtype
  data?: number[]; // default: standard normal
  wrt?: boolean; // default true for float inputs
  /** Symbolic dims to declare instead of the static ones (exercises the dynamic-shape rule paths). */
  symbolic?: Array<string | number>;
}
export interface GradCase {
  dtype: 'float64' | 'float32';
  inputs: Record<string, InputSpec>;
  build(g: Graph, x: Record<string, Tensor>): Tensor;
  /** Allowed |analytic - numeric| as a fraction of max |numeric| over the checked elements. */
  tol: number;
  h?: number;
  samples?: number;
  opset?: number;
}

function values(spec: InputSpec, dtype: DType, rng: Rng): ort.Tensor {
  const n = spec.dims.reduce((a, b) => a * b, 1);
  const src = spec.data ?? Array.from({ length: n }, () => rng.normal());
  if (dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from(src.map((v) => BigInt(v))), spec.dims);
  if (dtype === 'bool') return new ort.Tensor('bool', Uint8Array.from(src), spec.dims);
  return new ort.Tensor(dtype as 'float32', dtype === 'float64' ? Float64Array.from(src) : Float32Array.from(src), spec.dims);
}

export async function checkGrad(c: GradCase, seed = 1): Promise<number> {
  const rng = new Rng(seed);
  const g = new Graph({ opset: c.opset ?? 21 });
  const xs: Record<string, Tensor> = {};
  const feeds: Record<string, ort.Tensor> = {};
  const wrt: string[] = [];
  for (const [name, spec] of Object.entries(c.inputs)) {
    const dt = spec.dtype ?? c.dtype;
    xs[name] = g.input(name, dt, spec.symbolic ?? spec.dims);
    feeds[name] = values(spec, dt, rng);
    if (spec.wrt ?? (dt === 'float32' || dt === 'float64')) wrt.push(name);
  }
  g.output(c.build(g, xs), 'y');
  const forward = await createSession(toOnnx(g));
  const y0 = (await forward.run(feeds)).y;
  const R = Array.from({ length: y0.data.length }, () => rng.normal());
  const loss = async (f: Record<string, ort.Tensor>) => {
    const y = (await forward.run(f)).y.data as Float64Array;
    return y.reduce((s, v, i) => s + v * R[i], 0);
  };
  gradientModel(g, wrt);
  const back = await createSession(toOnnx(g));
  const seedT = new ort.Tensor(c.dtype, c.dtype === 'float64' ? Float64Array.from(R) : Float32Array.from(R), y0.dims);
  const grads = await back.run({ ...feeds, grad_y: seedT });
  const h = c.h ?? (c.dtype === 'float64' ? 1e-6 : 1e-2);
  let worst = 0;
  for (const name of wrt) {
    const base = feeds[name].data as Float64Array, ga = grads[`grad_${name}`];
    assert.deepEqual(ga.dims, feeds[name].dims, `grad_${name} shape`);
    const idx = Array.from({ length: Math.min(c.samples ?? 12, base.length) }, () => rng.int(base.length));
    const num: number[] = [], ana: number[] = [];
    for (const j of idx) {
      const at = (d: number) => {
        const copy = base.slice();
        copy[j] += d;
        return { ...feeds, [name]: new ort.Tensor(feeds[name].type as 'float32', copy, feeds[name].dims) };
      };
      num.push(((await loss(at(h))) - (await loss(at(-h)))) / (2 * h));
      ana.push((ga.data as Float64Array)[j]);
    }
    const scale = Math.max(1e-3, ...num.map(Math.abs));
    const err = Math.max(...num.map((n, i) => Math.abs(n - ana[i]))) / scale;
    worst = Math.max(worst, err);
    assert.ok(err <= c.tol, `d/d${name}: relative error ${err.toExponential(2)} > ${c.tol}; numeric [${num.map((v) => v.toFixed(5))}] analytic [${ana.map((v) => v.toFixed(5))}]`);
  }
  return worst;
}
