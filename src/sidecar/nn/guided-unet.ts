/**
 * The w-conditioned student of guided distillation (Meng et al. 2023, "On Distillation of Guided
 * Diffusion Models", section 3.1): the teacher's UNet with one extra input, the guidance scale, whose
 * embedding is added to the time embedding, so one evaluation gives what classifier-free guidance
 * needs two for.
 *
 * Works on any UNet graph (ours from unet.ts, or an imported diffusers export): the time embedding is
 * found as the last rank-2 value computed from `timestep` alone through which every use of the
 * timestep passes (its dominator), and every consumer of it is rewired to time_emb + g(w).
 *
 * Convention: the input is named `guidance_scale` and holds diffusers' scale s (out = out_u + s
 * (out_c - out_u)); Meng et al.'s w is s - 1. g(w) is a Fourier embedding of w, [w, sin(f_k w),
 * cos(f_k w)], through Linear -> SiLU -> Linear; the last layer starts at zero, so the fresh student
 * computes exactly the teacher's conditional output until it is trained.
 */
import { Graph, type Tensor } from '../graph';
import { linear, zeroLinear } from './layers';

/** Frequencies f_k = pi/8 * 2^k, k = 0..7: periods from 16 (wider than any sensible w) down to 1/8. */
const FREQS = Array.from({ length: 8 }, (_, k) => (Math.PI / 8) * 2 ** k);
export const GUIDANCE_INPUT = 'guidance_scale';
export const GUIDANCE_PREFIX = 'guidance_embedding';

/** Adds the guidance input to `g` in place; returns the name of the time embedding it rewired. */
export function addGuidanceInput(g: Graph): string {
  if (g.inputs.includes(GUIDANCE_INPUT)) throw new Error(`the UNet already has a ${GUIDANCE_INPUT} input`);
  const temb = findTimeEmbedding(g);
  const dim = Number(g.tensor(temb).shape?.[1]);
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`time embedding ${temb} has no static width`);
  const consumers = g.nodes.filter((n) => n.inputs.includes(temb));
  const producer = g.nodes.findIndex((n) => n.outputs.includes(temb));
  const before = g.nodes.length;
  const s = g.input(GUIDANCE_INPUT, 'float32', ['batch']);
  const sum = g.scope(GUIDANCE_PREFIX, () => g.add(g.tensor(temb), embedGuidance(g, s, dim)));
  for (const n of consumers) n.inputs = n.inputs.map((i) => (i === temb ? sum.name : i));
  // Keep the node list topologically sorted: the new nodes go right after the time embedding's producer.
  const added = g.nodes.splice(before, g.nodes.length - before);
  g.nodes.splice(producer + 1, 0, ...added);
  return temb;
}

/** g(w) [B, dim] for s [B]: Fourier features of w = s - 1, then a two-layer MLP (last layer zero-initialised). */
function embedGuidance(g: Graph, s: Tensor, dim: number): Tensor {
  const w = g.unsqueeze(g.sub(s, 1), [1]); // [B, 1]
  const angles = g.mul(w, g.constant(FREQS, 'float32', [1, FREQS.length]));
  const feats = g.concat([w, g.sin(angles), g.cos(angles)], 1); // [B, 1 + 2K]
  const width = 1 + 2 * FREQS.length;
  const h = g.silu(linear(g, 'l1', feats, width, dim));
  return zeroLinear(g, 'l2', h, dim, dim);
}

/** Graph inputs each value depends on. */
function dependencies(g: Graph): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>(g.inputs.map((i) => [i, new Set([i])]));
  for (const n of g.nodes) {
    const d = new Set<string>();
    for (const i of n.inputs) for (const x of deps.get(i) ?? []) d.add(x);
    for (const o of n.outputs) if (o) deps.set(o, d);
  }
  return deps;
}

/**
 * The time embedding: among values that depend on `timestep` only, the last rank-2 one that
 * dominates every place where timestep information meets the other inputs.
 */
export function findTimeEmbedding(g: Graph): string {
  if (!g.inputs.includes('timestep')) throw new Error('the UNet has no "timestep" input');
  const deps = dependencies(g);
  const timeOnly = (v: string) => {
    const d = deps.get(v);
    return !!d && d.size === 1 && d.has('timestep');
  };
  const frontier = g.nodes.filter((n) => n.inputs.some(timeOnly) && n.outputs.some((o) => o && !timeOnly(o)));
  const candidates = g.nodes.flatMap((n) => n.outputs).filter((o) => o && timeOnly(o) && g.tensor(o).shape?.length === 2);
  for (const c of candidates.reverse()) {
    if (dominates(g, c, frontier)) return c;
  }
  throw new Error('could not find the time embedding (a [B, D] value every use of the timestep passes through)');
}

/** True when no frontier node is reachable from `timestep` without passing through `c`. */
function dominates(g: Graph, c: string, frontier: Array<{ inputs: string[] }>): boolean {
  const reached = new Set(['timestep']);
  for (const n of g.nodes) {
    if (!n.inputs.some((i) => reached.has(i))) continue;
    for (const o of n.outputs) if (o && o !== c) reached.add(o);
  }
  return !frontier.some((n) => n.inputs.some((i) => reached.has(i)));
}
