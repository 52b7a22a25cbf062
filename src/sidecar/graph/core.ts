/**
 * The graph IR and its builder primitives: named inputs, parameters (trainable initializers),
 * constants, nodes with shape inference as they are added, outputs. Op-specific helpers live in
 * graph.ts on top of `node()`.
 */
import { inferNode } from './shapes';
import { type Init, rngFor } from './init';
import {
  type AttrValue, type DType, type Node, type Shape, type TensorValue, type ValueInfo,
  numel, shapeStr, tensorValue, toNumbers,
} from './types';

/** A value in a graph: its name and what is known statically about it. */
export interface Tensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}
/** Where an op takes a tensor, a plain number means a scalar constant of the other operand's type. */
export type Operand = Tensor | number;

export interface GraphOptions {
  /** ai.onnx opset to emit (default 21). */
  opset?: number;
  /** Seed for parameter initialisers (default 0). */
  seed?: number;
  name?: string;
}

export interface NodeOptions {
  outputs?: number;
  /** Explicit output names (default: fresh names from the op type). */
  names?: string[];
  domain?: string;
}

/**
 * Names of the initializers that are weights: float32, more than one element, and not a constant the
 * builder made (`constant()` names them const, const_2, ...), whether the graph was built here or
 * imported from a file.
 */
export function weightNames(g: Pick<GraphCore, 'initializers'>): string[] {
  return [...g.initializers].filter(([name, v]) => v.dtype === 'float32' && v.data.length > 1 && !/^const(_\d+)?$/.test(name)).map(([name]) => name);
}

export class GraphCore {
  readonly opset: number;
  readonly seed: number;
  name: string;
  readonly nodes: Node[] = [];
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  readonly initializers = new Map<string, TensorValue>();
  /** Names of initializers that are trained (parameters), in creation order. */
  readonly trainable = new Set<string>();
  readonly info = new Map<string, ValueInfo>();
  /** Extra opset imports of imported models (domain -> version). */
  readonly extraOpsets = new Map<string, number>();
  /** False for imported graphs: shape inference failures leave shapes unknown instead of throwing. */
  strict = true;
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, Tensor>();
  private readonly prefixes: string[] = [];
  private readonly constNodes = new Map<string, TensorValue>();
  /** Output of a whole-tensor Shape node -> the tensor it measures. */
  private readonly shapeSources = new Map<string, string>();

  constructor(opts: GraphOptions = {}) {
    this.opset = opts.opset ?? 21;
    this.seed = opts.seed ?? 0;
    this.name = opts.name ?? 'graph';
  }

  /** The tensor with this name (an input, initializer or node output). */
  tensor(name: string): Tensor {
    const info = this.info.get(name);
    if (!info) throw new Error(`no value named "${name}" in graph ${this.name}`);
    return { name, ...info };
  }

  has(name: string): boolean {
    return this.info.has(name);
  }

  /** A fresh unique name starting with `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  protected declare(name: string, info: ValueInfo): Tensor {
    if (this.info.has(name)) throw new Error(`graph ${this.name} already has a value named "${name}"`);
    this.used.add(name);
    this.info.set(name, info);
    return { name, ...info };
  }

  /** A named graph input; strings in `shape` are dynamic dimensions (e.g. 'batch'). */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    this.inputs.push(name);
    return this.declare(name, { dtype, shape });
  }

  /** Runs `fn` with parameter names prefixed by `prefix.` (nests). */
  scope<T>(prefix: string, fn: () => T): T {
    this.prefixes.push(prefix);
    try {
      return fn();
    } finally {
      this.prefixes.pop();
    }
  }

  /** A trainable float32 parameter, initialised from its own seeded stream (see init.ts). */
  param(name: string, dims: number[], initFn: Init): Tensor {
    const full = [...this.prefixes, name].join('.');
    const data = initFn(dims, rngFor(this.seed, full));
    if (data.length !== numel(dims)) throw new Error(`initialiser for ${full} gave ${data.length} values for shape [${dims}]`);
    const t = this.initializer(full, { dtype: 'float32', dims, data });
    this.trainable.add(full);
    return t;
  }

  /** A named constant initializer (not trained). */
  initializer(name: string, value: TensorValue): Tensor {
    this.initializers.set(name, value);
    return this.declare(name, { dtype: value.dtype, shape: [...value.dims] });
  }

  /** A constant; small ones are shared. `dims` defaults to [] for a number, [n] for an array. */
  constant(values: number | readonly number[], dtype: DType = 'float32', dims?: number[]): Tensor {
    const arr = typeof values === 'number' ? [values] : [...values];
    const d = dims ?? (typeof values === 'number' ? [] : [arr.length]);
    const key = arr.length <= 64 ? `${dtype}|${d}|${arr}` : undefined;
    const hit = key && this.constCache.get(key);
    if (hit) return hit;
    const t = this.initializer(this.fresh('const'), tensorValue(dtype, d, arr));
    if (key) this.constCache.set(key, t);
    return t;
  }

  /** A scalar constant with the element type of `like`. */
  scalar(v: number, like: Tensor | DType): Tensor {
    return this.constant(v, typeof like === 'string' ? like : like.dtype);
  }

  protected operand(x: Operand, like: Tensor): Tensor {
    return typeof x === 'number' ? this.scalar(x, like) : x;
  }

  /** The value of a constant (initializer or Constant node), if `name` is one. */
  constValue(name: string): TensorValue | undefined {
    return this.initializers.get(name) ?? this.constNodes.get(name);
  }

  /** Adds one node; infers (and in strict mode checks) its outputs' shapes and types. */
  node(op: string, inputs: ReadonlyArray<Tensor | null>, attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): Tensor[] {
    const n = opts.names?.length ?? opts.outputs ?? 1;
    const names = opts.names ?? Array.from({ length: n }, () => this.fresh(op.toLowerCase()));
    const infos = this.infer(op, inputs, attrs, n, names[0]);
    const node: Node = { op, domain: opts.domain ?? '', name: this.fresh(`n_${names[0]}`), inputs: inputs.map((t) => t?.name ?? ''), outputs: names, attrs };
    this.nodes.push(node);
    this.noteSpecial(node);
    return names.map((name, i) => (name === '' ? { name, ...infos[i] } : this.declareOutput(name, infos[i])));
  }

  private declareOutput(name: string, info: ValueInfo): Tensor {
    this.used.add(name);
    if (this.info.has(name)) throw new Error(`graph ${this.name} already has a value named "${name}"`);
    this.info.set(name, info);
    return { name, ...info };
  }

  private infer(op: string, inputs: ReadonlyArray<Tensor | null>, attrs: Record<string, AttrValue>, n: number, at: string): ValueInfo[] {
    const ctx = {
      op, attrs: op === 'Split' ? { ...attrs, __outputs: n } : attrs, opset: this.opset,
      inputs: inputs.map((t) => (t ? { dtype: t.dtype, shape: t.shape } : undefined)),
      constant: (i: number) => {
        const v = inputs[i] && this.constValue(inputs[i]!.name);
        return v ? toNumbers(v) : undefined;
      },
      shapeOf: (i: number) => {
        const src = inputs[i] && this.shapeSources.get(inputs[i]!.name);
        return src ? (this.info.get(src)?.shape ?? undefined) : undefined;
      },
    };
    try {
      return inferNode(ctx, n);
    } catch (e) {
      const detail = inputs.map((t) => (t ? `${t.name}: ${t.dtype}${shapeStr(t.shape)}` : '-')).join(', ');
      if (this.strict) throw new Error(`${op} (output ${at}): ${(e as Error).message}; inputs ${detail}`, { cause: e });
      return Array.from({ length: n }, () => ({ dtype: inputs.find(Boolean)?.dtype ?? 'float32', shape: null }));
    }
  }

  /** Marks `t` as a graph output, under `name` if given (adds an Identity when renaming). */
  output(t: Tensor, name?: string): Tensor {
    let out = t;
    if (name && name !== t.name) out = this.node('Identity', [t], {}, { names: [name] })[0];
    this.outputs.push(out.name);
    return out;
  }

  /** Turns an initializer into a graph input of the same name (e.g. parameters fed by a trainer); returns its value. */
  promoteToInput(name: string): TensorValue {
    const v = this.initializers.get(name);
    if (!v) throw new Error(`no initializer named "${name}" in graph ${this.name}`);
    this.initializers.delete(name);
    this.inputs.push(name);
    return v;
  }

  /** Records a shape known by construction (e.g. Reshape to Shape(x) has x's shape); returns the refined tensor. */
  refine(t: Tensor, shape: Shape): Tensor {
    const info = { dtype: t.dtype, shape };
    this.info.set(t.name, info);
    return { name: t.name, ...info };
  }

  /** Registers a value defined elsewhere (used by the importer). */
  define(name: string, info: ValueInfo): void {
    this.used.add(name);
    this.info.set(name, info);
  }

  /** Appends an already-built node (used by the importer and graph rewrites). */
  pushNode(node: Node): void {
    for (const o of node.outputs) this.used.add(o);
    this.used.add(node.name);
    this.nodes.push(node);
    this.noteSpecial(node);
  }

  /** The tensor measured by the Shape node that produced `name`, if any. */
  shapeSource(name: string): string | undefined {
    return this.shapeSources.get(name);
  }

  /** Remembers Constant values and Shape sources, which later shape inference can use. */
  private noteSpecial(node: Node): void {
    if (node.op === 'Constant') {
      const v = constantNodeValue(node.attrs);
      if (v) this.constNodes.set(node.outputs[0], v);
    }
    if (node.op === 'Shape' && node.attrs.start === undefined && node.attrs.end === undefined) this.shapeSources.set(node.outputs[0], node.inputs[0]);
  }

}

/** The value of a Constant node, from whichever of its value attributes it uses. */
function constantNodeValue(a: Record<string, AttrValue>): TensorValue | undefined {
  const v = a.value;
  if (v && typeof v === 'object' && 'data' in v) return v;
  if (typeof a.value_int === 'number') return tensorValue('int64', [], [a.value_int]);
  if (Array.isArray(a.value_ints)) return tensorValue('int64', [a.value_ints.length], a.value_ints as number[]);
  const fl = a.value_float as { float: number } | undefined, fls = a.value_floats as { floats: number[] } | undefined;
  if (fl) return tensorValue('float32', [], [fl.float]);
  if (fls) return tensorValue('float32', [fls.floats.length], fls.floats);
  return undefined;
}
