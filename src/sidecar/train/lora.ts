/**
 * Low-rank adapters (LoRA, Hu et al. 2021): W' = W + (alpha / r) * A B with A [in, r] random and
 * B [r, out] zero, so an injected graph starts out computing exactly what it did. Works on any graph
 * whose MatMul / Gemm / 1x1-Conv nodes take their weight from an initializer; only the adapters are
 * left trainable. `mergeLora` folds trained adapters back into the weights.
 */
import type { Graph, Tensor } from '../graph/graph';
import { init } from '../graph/init';
import type { Node, TensorValue } from '../graph/types';

export type LoraKind = 'matmul' | 'gemm' | 'conv1x1';

export interface LoraSite {
  /** The adapted weight initializer. */
  weight: string;
  kind: LoraKind;
  /** Adapter parameter names: A then B. */
  a: string;
  b: string;
  rank: number;
  /** alpha / r. */
  scale: number;
  /** Gemm with transB (weight stored [out, in]). */
  transB: boolean;
}

export interface LoraOptions {
  rank: number;
  /** Scaling numerator (default: rank, i.e. scale 1). */
  alpha?: number;
  /** Which weights to adapt: a list of names, a pattern, or a predicate. */
  targets: string[] | RegExp | ((weight: string, node: Node) => boolean);
}

function siteKind(g: Graph, n: Node): LoraKind | undefined {
  const w = g.initializers.get(n.inputs[1] ?? '');
  if (!w || w.dtype !== 'float32') return undefined;
  if (n.op === 'MatMul' && w.dims.length === 2) return 'matmul';
  if (n.op === 'Gemm' && !n.attrs.transA) return 'gemm';
  const oneByOne = w.dims.length === 4 && w.dims[2] === 1 && w.dims[3] === 1;
  const plain = (n.attrs.group ?? 1) === 1 && ((n.attrs.strides as number[] | undefined) ?? [1, 1]).every((s) => s === 1) && ((n.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0]).every((p) => p === 0);
  if (n.op === 'Conv' && oneByOne && plain) return 'conv1x1';
  return undefined;
}

/** Injects adapters; freezes everything else. Returns the sites (needed to merge). */
export function injectLora(g: Graph, o: LoraOptions): LoraSite[] {
  const pick = typeof o.targets === 'function' ? o.targets
    : o.targets instanceof RegExp ? (w: string) => (o.targets as RegExp).test(w) : (w: string) => (o.targets as string[]).includes(w);
  const nodes = g.nodes.filter((n) => siteKind(g, n) && pick(n.inputs[1], n));
  if (!nodes.length) throw new Error('injectLora: no MatMul/Gemm/1x1-Conv node with an initializer weight matches the targets');
  g.trainable.clear();
  return nodes.map((n) => injectOne(g, n, siteKind(g, n)!, o.rank, (o.alpha ?? o.rank) / o.rank));
}

function injectOne(g: Graph, n: Node, kind: LoraKind, r: number, scale0: number): LoraSite {
  const weight = n.inputs[1], dims = g.initializers.get(weight)!.dims;
  const transB = kind === 'gemm' && !!n.attrs.transB;
  const [cin, cout] = kind === 'conv1x1' ? [dims[1], dims[0]] : transB ? [dims[1], dims[0]] : [dims[0], dims[1]];
  // Gemm's alpha multiplies the adapter's path in the graph, and the merged weight later
  const gemmAlpha = kind === 'gemm' ? ((n.attrs.alpha as { float: number } | undefined)?.float ?? 1) : 1;
  const site: LoraSite = { weight, kind, a: `${weight}.lora_A`, b: `${weight}.lora_B`, rank: r, scale: scale0, transB };
  // rename the node's output; the adapter's sum takes over the original name
  const out = n.outputs[0], base = g.fresh(`${out}_base`);
  g.define(base, g.info.get(out)!);
  g.info.delete(out);
  n.outputs[0] = base;
  const start = g.nodes.length;
  const x = g.tensor(n.inputs[0]);
  let delta: Tensor;
  if (kind === 'conv1x1') {
    const A = g.param(site.a, [r, cin, 1, 1], init.torchDefault(cin)), B = g.param(site.b, [cout, r, 1, 1], init.zeros());
    delta = g.conv(g.conv(x, A), B);
  } else {
    const A = g.param(site.a, [cin, r], init.torchDefault(cin)), B = g.param(site.b, [r, cout], init.zeros());
    delta = g.matmul(g.matmul(x, A), B);
  }
  g.node('Add', [g.tensor(base), g.mul(delta, scale0 * gemmAlpha)], {}, { names: [out] });
  const added = g.nodes.splice(start);
  g.nodes.splice(g.nodes.indexOf(n) + 1, 0, ...added);
  return site;
}

/**
 * W + scale * (A B) in W's layout; `weights` holds the base weights, `adapters` the trained A and B.
 * `inPlace`: add into W's own data (when `weights` belong to the caller alone) instead of a copy.
 */
export function mergeLora(weights: Map<string, TensorValue>, adapters: Map<string, TensorValue>, sites: LoraSite[], opts: { inPlace?: boolean } = {}): Map<string, TensorValue> {
  const merged = new Map(weights);
  for (const s of sites) {
    const w = weights.get(s.weight), A = adapters.get(s.a), B = adapters.get(s.b);
    if (!w || !A || !B) throw new Error(`mergeLora: missing ${!w ? s.weight : !A ? s.a : s.b}`);
    const a = A.data as Float32Array, b = B.data as Float32Array, r = s.rank;
    const out = opts.inPlace ? (w.data as Float32Array) : (w.data as Float32Array).slice();
    // AB[i][j] = sum_k A[i][k] B[k][j] with A [in, r], B [r, out] (conv: A [r, in], B [out, r])
    const [cin, cout] = s.kind === 'conv1x1' ? [w.dims[1], w.dims[0]] : s.transB ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
    for (let i = 0; i < cin; i++) {
      for (let j = 0; j < cout; j++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += s.kind === 'conv1x1' ? a[k * cin + i] * b[j * r + k] : a[i * r + k] * b[k * cout + j];
        const at = s.kind === 'matmul' || (s.kind === 'gemm' && !s.transB) ? i * cout + j : j * cin + i;
        out[at] += s.scale * d;
      }
    }
    merged.set(s.weight, { ...w, data: out });
  }
  return merged;
}
