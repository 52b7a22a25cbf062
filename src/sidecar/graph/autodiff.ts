/**
 * Reverse-mode automatic differentiation of ONNX graphs into standard ai.onnx ops.
 * The driver walks the nodes between `wrt` and the outputs in reverse topological order, asks each
 * op's rule (grad-rules*.ts) for the gradients of its inputs, and sums contributions per value.
 */
import type { Graph, Tensor } from './graph';
import type { Node, AttrValue } from './types';
import { isFloat, toNumbers } from './types';
import { RULES, NON_DIFFERENTIABLE, type GradContext } from './grad-rules';
import { foldConstants } from './fold';
import './grad-rules-nn';

export interface GradientOptions {
  /** Outputs to differentiate and their seeds (upstream gradients, same shape as the output). */
  seeds: Array<{ output: string; grad: Tensor }>;
  /** Names of inputs or initializers to differentiate with respect to. */
  wrt: string[];
}

/** Folds `g`'s constant subgraphs (fold.ts), emits gradient nodes into it; returns the gradient tensor of each `wrt` name. */
export function gradients(g: Graph, o: GradientOptions): Map<string, Tensor> {
  // the emitted nodes pass axes/sizes as inputs (Squeeze, Unsqueeze, Split, ReduceSum), as from opset 13
  if (g.opset < 13) throw new Error(`autodiff needs ai.onnx opset 13 or newer; this graph uses opset ${g.opset}`);
  // exporters leave shape arithmetic in graphs (Resize scales from Concat(Constant, Constant) ...): the
  // rules that need a constant input see one once it is folded; the wrt names are never folded away
  foldConstants(g, { keep: o.wrt });
  const active = activeNodes(g, o.wrt, o.seeds.map((s) => s.output));
  const grads = new Map<string, Tensor[]>();
  for (const s of o.seeds) grads.set(s.output, [s.grad]);
  const total = (name: string): Tensor | null => {
    const parts = grads.get(name);
    if (!parts?.length) return null;
    const t = g.sum(parts);
    grads.set(name, [t]);
    return t;
  };
  for (const node of [...active.nodes].reverse()) {
    const dys = node.outputs.map((n) => (n ? total(n) : null));
    if (dys.every((d) => d === null) || NON_DIFFERENTIABLE.has(node.op)) continue;
    const rule = RULES[node.op];
    if (!rule) throw new Error(`no gradient rule for op ${node.op} (node "${node.name}", output ${node.outputs[0]})`);
    const dxs = rule(context(g, node, dys, active.values));
    node.inputs.forEach((name, i) => {
      const dx = dxs[i];
      if (dx && active.values.has(name)) grads.set(name, [...(grads.get(name) ?? []), dx]);
    });
  }
  return new Map(o.wrt.map((w) => [w, total(w) ?? zerosLike(g, g.tensor(w))]));
}

/** Nodes on a path from `wrt` to `outputs`, and the float values that carry gradient. */
function activeNodes(g: Graph, wrt: string[], outputs: string[]): { nodes: Node[]; values: Set<string> } {
  const forward = new Set(wrt);
  for (const w of wrt) if (!g.has(w)) throw new Error(`--wrt ${w}: no input or initializer of that name`);
  for (const n of g.nodes) {
    if (NON_DIFFERENTIABLE.has(n.op)) continue;
    if (n.inputs.some((i) => forward.has(i))) for (const out of n.outputs) if (out && isFloat(g.tensor(out).dtype)) forward.add(out);
  }
  const needed = new Set(outputs);
  const nodes: Node[] = [];
  for (const n of [...g.nodes].reverse()) {
    if (!n.outputs.some((out) => needed.has(out) && forward.has(out))) continue;
    nodes.push(n);
    for (const i of n.inputs) if (forward.has(i)) needed.add(i);
  }
  const values = new Set([...forward].filter((v) => needed.has(v)));
  return { nodes: nodes.reverse(), values };
}

function context(g: Graph, node: Node, dys: Array<Tensor | null>, active: Set<string>): GradContext {
  return {
    g, node,
    x: (i) => g.tensor(node.inputs[i]),
    has: (i) => !!node.inputs[i],
    y: (i) => g.tensor(node.outputs[i]),
    dy: (i) => dys[i] ?? null,
    needs: (i) => !!node.inputs[i] && active.has(node.inputs[i]),
    attr: <T extends AttrValue>(name: string, dflt: T): T => (node.attrs[name] as T | undefined) ?? dflt,
    float: (name: string, dflt: number) => (node.attrs[name] as { float: number } | undefined)?.float ?? dflt,
    constant: (i) => {
      const v = node.inputs[i] ? g.constValue(node.inputs[i]) : undefined;
      return v ? toNumbers(v) : undefined;
    },
  };
}

export function zerosLike(g: Graph, t: Tensor): Tensor {
  if (t.shape && t.shape.every((d) => typeof d === 'number')) {
    return g.expand(g.scalar(0, t), t.shape as number[]);
  }
  return g.constantOfShape(g.shape(t), 0, t.dtype);
}

/**
 * Turns a model into its gradient model (the `grad` command): inputs are the model's inputs plus a
 * seed `grad_<output>` per output; outputs are the model's outputs plus `grad_<name>` per wrt name.
 */
export function gradientModel(g: Graph, wrt: string[]): Graph {
  const outputs = [...g.outputs];
  const seeds = outputs.map((out) => {
    const t = g.tensor(out);
    return { output: out, grad: g.input(`grad_${out}`, t.dtype, t.shape) };
  });
  const grads = gradients(g, { seeds, wrt });
  for (const w of wrt) g.output(grads.get(w)!, `grad_${w}`);
  return g;
}
