/**
 * How much memory a training step needs, worked out from its graph before anything is allocated, so a
 * job the machine cannot hold is refused up front with the figure instead of dying half-way (the
 * kernel's OOM killer gives no message at all).
 *
 *   weights      frozen weights fed as inputs (train/frozen.ts) + initializers ORT holds
 *   state        params and optimiser slots, fed in and returned (x2)
 *   activations  forward values the backward pass reads: all alive when the backward starts
 *   working      the largest backward values, alive a few at a time, plus ORT's own overhead
 *
 * Symbolic dimensions (the batch) are given by the caller. The working allowance was calibrated on SD
 * 1.5-size steps (docs/BENCHMARKS.md, "Training at Stable Diffusion size"): estimate vs measured peak RSS.
 */
import { freemem } from 'node:os';
import type { Shape } from '../graph/types';
import type { TrainStep } from './train-step';

export interface MemoryPlan {
  weightBytes: number;
  stateBytes: number;
  activationBytes: number;
  workingBytes: number;
  totalBytes: number;
}

const ELEMENT: Record<string, number> = { float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1 };
/** The process itself (Node, ORT's code, the JavaScript side of a job) before any tensor. */
const BASE_BYTES = 0.6e9;
/** Backward values alive at once beyond the saved activations, as a multiple of the largest one. */
const WORKING_LARGEST = 6;

function bytesOf(shape: Shape, dtype: string, dims: Record<string, number>): number {
  if (!shape) return 0;
  let n = ELEMENT[dtype] ?? 4;
  for (const d of shape) n *= typeof d === 'number' ? d : typeof d === 'string' ? (dims[d] ?? 1) : 1;
  return n;
}

/** The estimate for one step of `step` at the given symbolic dimensions (e.g. {batch: 1}). */
export function planMemory(step: TrainStep, dims: Record<string, number> = {}): MemoryPlan {
  const g = step.graph;
  let weightBytes = 0;
  for (const v of g.initializers.values()) weightBytes += v.data.byteLength; // fed ones are here too
  const stateBytes = 2 * step.state.reduce((s, x) => s + x.init.byteLength, 0);
  const producedBy = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producedBy.set(o, i)));
  const saved = new Set<string>();
  let largest = 0;
  for (let i = step.forwardNodes; i < g.nodes.length; i++) {
    for (const x of g.nodes[i].inputs) if ((producedBy.get(x) ?? Infinity) < step.forwardNodes) saved.add(x);
    for (const o of g.nodes[i].outputs) {
      const info = g.info.get(o);
      if (info) largest = Math.max(largest, bytesOf(info.shape, info.dtype, dims));
    }
  }
  let activationBytes = 0;
  for (const x of saved) {
    const info = g.info.get(x);
    if (info) activationBytes += bytesOf(info.shape, info.dtype, dims);
  }
  const workingBytes = BASE_BYTES + WORKING_LARGEST * largest;
  return { weightBytes, stateBytes, activationBytes, workingBytes, totalBytes: weightBytes + stateBytes + activationBytes + workingBytes };
}

/** Refused before anything big is allocated: the message carries both figures and the parts. */
export class InsufficientMemoryError extends RangeError {
  constructor(readonly what: string, readonly plan: MemoryPlan, readonly availableBytes: number, hint = '') {
    const gb = (b: number) => (b / 1e9).toFixed(1);
    super(`${what} needs about ${gb(plan.totalBytes)} GB of memory (weights ${gb(plan.weightBytes)}, training state ${gb(plan.stateBytes)}, `
      + `activations ${gb(plan.activationBytes)}, working ${gb(plan.workingBytes)} GB); this machine has ${gb(availableBytes)} GB available${hint ? `: ${hint}` : ''}`);
    this.name = 'InsufficientMemoryError';
  }
}

/**
 * Throws InsufficientMemoryError when the plan exceeds what is available (default: the memory the OS
 * reports as available now, which counts what other processes already use).
 */
export function assertFits(what: string, plan: MemoryPlan, available = freemem(), hint = ''): void {
  if (plan.totalBytes > available) throw new InsufficientMemoryError(what, plan, available, hint);
}
