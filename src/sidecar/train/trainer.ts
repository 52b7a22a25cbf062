/**
 * The trainer: runs a training-step graph (train/train-step.ts) step after step, keeping parameters and
 * optimiser state as ort.Tensors fed straight back, with seeded per-step randomness, progress,
 * atomic safetensors checkpoints and exact resume.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { freemem } from 'node:os';
import { assertFits, planMemory } from './memory-plan';
import { createSession, toOrt } from '../graph/session';
import { sessionOptions } from '../runtime/session-options';
import { rngFor, type Rng } from '../graph/init';
import type { Graph } from '../graph/graph';
import { STEP_INPUT, unflatten, type TrainStep } from './train-step';
import type { TensorValue } from '../graph/types';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { ProgressClock, type TrainProgress } from './progress';

export interface TrainerOptions {
  /** Intra-op threads (default: the rule in runtime/session-options.ts). */
  threads?: number;
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: readonly string[];
  /** Graphs with more weight bytes than this reach ORT through a temporary file (graph/session.ts). */
  externalDataAbove?: number;
  /** Seeds the per-step random streams handed to the batch function (default 0). */
  seed?: number;
  /**
   * Refuse before the session exists when the step cannot fit in memory (train/memory-plan.ts):
   * `what` names the job in the message, `dims` sizes the symbolic dimensions (e.g. {batch: 4}),
   * `reserve` is memory something else of the job will take besides the step (e.g. a teacher session).
   */
  memory?: { what: string; dims?: Record<string, number>; hint?: string; available?: number; reserve?: number };
}

/** Makes the feeds of step `step` (0-based). `rng` depends only on (seed, step), so a resumed run sees the same data. */
export type BatchFn = (step: number, rng: Rng) => Record<string, ort.Tensor> | Promise<Record<string, ort.Tensor>>;

export interface FitOptions {
  /** Train until this many steps are done in total (resumed steps count). */
  steps: number;
  batch: BatchFn;
  onProgress?: (p: TrainProgress) => void;
  /** Write a checkpoint here every `checkpointEvery` steps and at the end. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Stops after the current step (a checkpoint is written if configured). */
  signal?: AbortSignal;
}

export class Trainer {
  /** Steps completed. */
  step = 0;
  private state = new Map<string, ort.Tensor>();
  /** Frozen weights fed as inputs (train/frozen.ts): views of the step's one copy, built once. */
  private readonly frozen: Record<string, ort.Tensor> = {};

  private constructor(readonly spec: TrainStep, private readonly session: ort.InferenceSession, readonly seed: number) {
    for (const s of spec.state) this.state.set(s.input, new ort.Tensor('float32', s.init.slice(), [s.init.length]));
    for (const [name, v] of spec.frozen) this.frozen[name] = toOrt(v);
  }

  static async create(spec: TrainStep, o: TrainerOptions = {}): Promise<Trainer> {
    if (o.memory) {
      // The fed frozen weights are already in this process: what is free now plus them is the budget.
      const held = [...spec.frozen.values()].reduce((n, v) => n + v.data.byteLength, 0);
      assertFits(o.memory.what, planMemory(spec, o.memory.dims), (o.memory.available ?? freemem() + held) - (o.memory.reserve ?? 0), o.memory.hint);
    }
    const options = sessionOptions({ executionProviders: o.providers, intraOpNumThreads: o.threads });
    // Large steps (frozen weights fed): ORT's CPU arena keeps every block it ever grew to and rounds
    // growth up, which at SD 1.5 size held ~1.3 GB more at 32x32 latents than plain allocation
    // (docs/BENCHMARKS.md); without it a freed activation goes back to the system at once.
    if (spec.placement !== 'initializers') options.enableCpuMemArena = false;
    return new Trainer(spec, await createSession(spec.graph, { ...options, externalDataAbove: o.externalDataAbove }), o.seed ?? 0);
  }

  /** The frozen weights fed to every step, by input name (empty when they are initializers). */
  get frozenFeeds(): Readonly<Record<string, ort.Tensor>> {
    return this.frozen;
  }

  /** Runs one step on `batch`; returns the scalar outputs (loss, lr, grad_norm ...). */
  async trainStep(batch: Record<string, ort.Tensor>): Promise<Record<string, number>> {
    for (const name of this.spec.dataInputs) if (!batch[name]) throw new Error(`training batch lacks input "${name}" (needs ${this.spec.dataInputs.join(', ')})`);
    const feeds: Record<string, ort.Tensor> = { ...batch, ...this.frozen, [STEP_INPUT]: new ort.Tensor('float32', Float32Array.of(this.step + 1), []) };
    for (const [k, v] of this.state) feeds[k] = v;
    const out = await this.session.run(feeds);
    for (const s of this.spec.state) this.state.set(s.input, out[s.output]);
    this.step++;
    const scalars: Record<string, number> = {};
    for (const name of this.spec.outputs) if (out[name].size === 1) scalars[name] = Number(out[name].data[0]);
    if (!Number.isFinite(scalars.loss)) throw new Error(`training diverged at step ${this.step}: loss is ${scalars.loss}`);
    return scalars;
  }

  /** Trains to `o.steps` total steps; returns the losses of the steps run here. */
  async fit(o: FitOptions): Promise<number[]> {
    const clock = new ProgressClock(o.steps), losses: number[] = [];
    while (this.step < o.steps && !o.signal?.aborted) {
      const r = await this.trainStep(await o.batch(this.step, rngFor(this.seed, `step:${this.step}`)));
      losses.push(r.loss);
      o.onProgress?.(clock.tick(this.step, r.loss, r.lr));
      if (o.checkpoint && o.checkpointEvery && this.step % o.checkpointEvery === 0) this.saveCheckpoint(o.checkpoint);
    }
    if (o.checkpoint) this.saveCheckpoint(o.checkpoint);
    return losses;
  }

  /** The flat state vector of a slot ('params', 'adam_m', 'adam_v', 'ema', ...). */
  slot(name: string): Float32Array {
    const t = this.state.get(name);
    if (!t) throw new Error(`no training state named ${name} (have ${[...this.state.keys()].join(', ')})`);
    return t.data as Float32Array;
  }

  /** Named parameter tensors (views of the current state). */
  params(): Map<string, TensorValue> {
    return unflatten(this.spec.layout, this.slot('params'));
  }

  /** Named EMA parameters, if the step keeps an EMA. */
  emaParams(): Map<string, TensorValue> {
    return unflatten(this.spec.layout, this.slot('ema'));
  }

  /** Copies trained values into a graph's initializers of the same names (e.g. for export). */
  applyTo(g: Graph, which: 'params' | 'ema' = 'params'): void {
    for (const [name, v] of which === 'ema' ? this.emaParams() : this.params()) {
      if (!g.initializers.has(name)) throw new Error(`graph ${g.name} has no initializer ${name}`);
      g.initializers.set(name, { ...v, data: (v.data as Float32Array).slice() });
    }
  }

  /**
   * Checkpoint: parameters by name (loadable as weights), the other state slots as flat tensors under
   * `state.<slot>`, and the step and seed as metadata. Atomic.
   */
  saveCheckpoint(path: string, metadata: Record<string, string> = {}): void {
    const tensors = new Map<string, TensorValue>(this.params());
    for (const s of this.spec.state.slice(1)) tensors.set(`state.${s.input}`, { dtype: 'float32', dims: [s.init.length], data: this.slot(s.input) });
    writeSafetensors(path, tensors, { ...metadata, step: String(this.step), seed: String(this.seed), format: 'diffusion-studio-trainer-1' });
  }

  /** Restores a checkpoint written by saveCheckpoint (same parameter layout). Returns its metadata. */
  loadCheckpoint(path: string): Record<string, string> {
    return this.restore(path, false).metadata;
  }

  /**
   * Resumes from a checkpoint of the same model with layers added since (zero-initialised ones, so the
   * model computes what it did): parameters the checkpoint lacks keep their initial values, with zero
   * optimiser moments and their initial value as EMA; everything else is restored by name and offset.
   * Returns the new parameters' names.
   */
  warmStart(path: string): string[] {
    return this.restore(path, true).added;
  }

  /**
   * One restore for both: the checkpoint's flat layout is this one without the parameters it lacks (the
   * graph builder keeps the others in order), which its optimiser state's length confirms. A strict
   * restore (allowNew false) refuses a missing parameter by name and shape; both refuse parameters this
   * model lacks, whose offsets would shift every later tensor.
   */
  private restore(path: string, allowNew: boolean): { metadata: Record<string, string>; added: string[] } {
    const { tensors, metadata } = readSafetensors(path);
    const missing = this.spec.layout.filter((l) => !tensors.has(l.name));
    if (!allowNew && missing.length) throw new Error(`checkpoint ${path} lacks parameter ${missing[0].name} of shape [${missing[0].dims.join(', ')}]`);
    const ours = new Set(this.spec.layout.map((l) => l.name));
    const extra = [...tensors.keys()].filter((k) => !k.startsWith('state.') && !ours.has(k));
    if (extra.length) throw new Error(`checkpoint ${path} has parameters this model lacks (${extra.slice(0, 3).join(', ')}): not a checkpoint of this model`);
    let offset = 0;
    const old = this.spec.layout.filter((l) => tensors.has(l.name)).map((l) => { const o = offset; offset += l.size; return { ...l, oldOffset: o }; });
    for (const l of old) if (tensors.get(l.name)!.data.length !== l.size) throw new Error(`checkpoint ${path}: ${l.name} has ${tensors.get(l.name)!.data.length} values, expected ${l.size} ([${l.dims.join(', ')}])`);
    for (const [k, s] of this.spec.state.entries()) {
      const flat = s.init.slice();
      const v = k === 0 ? null : tensors.get(`state.${s.input}`);
      if (k > 0 && (!v || v.data.length !== offset)) throw new Error(`checkpoint ${path} lacks optimiser state ${s.input} matching its parameters (${v?.data.length ?? 'missing'} values, expected ${offset})`);
      for (const l of old) flat.set(k === 0 ? tensors.get(l.name)!.data as Float32Array : (v!.data as Float32Array).subarray(l.oldOffset, l.oldOffset + l.size), l.offset);
      this.state.set(s.input, new ort.Tensor('float32', flat, [flat.length]));
    }
    this.step = Number(metadata.step ?? 0);
    return { metadata, added: missing.map((l) => l.name) };
  }

  /** Resumes from `path` when it exists; returns whether it did. */
  resumeIfPresent(path: string): boolean {
    if (!existsSync(path)) return false;
    this.loadCheckpoint(path);
    return true;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
