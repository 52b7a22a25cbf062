/**
 * Seeded random numbers and weight initialisers. Each parameter draws from its own stream, seeded
 * from (graph seed, parameter name), so adding a layer does not change the others' initial weights.
 */

/** mulberry32: a small, fast 32-bit generator; deterministic across platforms. */
export class Rng {
  private s: number;
  private spare: number | undefined;
  constructor(seed: number | string) {
    this.s = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u = 1 - this.next(), v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  fillNormal(out: Float32Array, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }
}

/** FNV-1a, 32 bit. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export const rngFor = (seed: number, name: string): Rng => new Rng(hashString(`${seed}:${name}`));

/** An initialiser fills a parameter of the given dims from its stream. */
export type Init = (dims: number[], rng: Rng) => Float32Array;

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

export const init = {
  zeros: (): Init => (dims) => new Float32Array(size(dims)),
  ones: (): Init => (dims) => new Float32Array(size(dims)).fill(1),
  constant: (v: number): Init => (dims) => new Float32Array(size(dims)).fill(v),
  uniform: (bound: number): Init => (dims, rng) => {
    const out = new Float32Array(size(dims));
    for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * bound;
    return out;
  },
  normal: (std: number): Init => (dims, rng) => rng.fillNormal(new Float32Array(size(dims)), std),
  /** PyTorch's default for Linear and Conv (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  torchDefault: (fanIn: number): Init => init.uniform(1 / Math.sqrt(fanIn)),
  /** Glorot & Bengio (2010) uniform. */
  xavier: (fanIn: number, fanOut: number): Init => init.uniform(Math.sqrt(6 / (fanIn + fanOut))),
  /** Explicit values (e.g. loaded weights). */
  values: (v: Float32Array): Init => (dims) => {
    if (v.length !== size(dims)) throw new Error(`init.values: ${v.length} values for shape [${dims}]`);
    return v;
  },
};
