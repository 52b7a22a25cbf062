/**
 * The student UNet: the teacher's ONNX graph imported through the engine (so any UNet the autodiff can
 * differentiate works), optionally given the guidance input (nn/guided-unet.ts), optionally trained
 * through low-rank adapters only (large models). Builds its training-step graph (weighted MSE on the
 * raw output, AdamW, gradient clipping) and writes the trained weights back into an inference graph.
 */
import { loadModel, toOnnxFeeding, weightNames, type Graph } from '../../graph';
import { FROZEN_INPUT_MIN_BYTES, injectLora, mergeLora, type FrozenPlacement, type LoraSite } from '../../train';
import { buildTrainStep, type TrainStep } from '../../train/train-step';
import type { TensorValue } from '../../graph/types';
import { addGuidanceInput, GUIDANCE_INPUT } from '../../nn/guided-unet';
import { narrowUnetGraph, unetFamilyConfig } from '../../nn/narrow-unet';
import { halfToFloat } from '../../graph/half';
import { DistillRequestError } from './plan';

export interface StudentSpec {
  /** The ONNX file the student starts from (the teacher's, or the previous round's). */
  unetPath: string;
  /** Give the UNet a guidance_scale input if it has none (guided distillation, stage 1). */
  addGuidance: boolean;
  /** Train LoRA adapters of this rank instead of every weight (0 = full fine-tuning). */
  loraRank: number;
  /**
   * Build a narrower embedded-family UNet from the one at `unetPath` instead of copying it
   * (nn/narrow-unet.ts); `headDim` is the teacher's attention_head_dim.
   */
  narrow?: { channels: number; headDim: number };
  /**
   * An ONNX file whose weights replace the built student's, by name (float16-stored ones widened),
   * after the guidance input is added: stage 1 resumed from an earlier student (plan.ts stage1Init).
   */
  startWeights?: string;
}

export interface StudentGraph {
  graph: Graph;
  /** Names of the trained tensors. */
  trainable: string[];
  guided: boolean;
  /** For LoRA: the adapted weights and their adapters (merged into the weights on export). */
  lora: LoraSite[];
  /**
   * For LoRA on the teacher's own UNet: the teacher's inference graph with its big weights as inputs
   * (a few MB whatever the model's size), to run on the weights the student's training step is fed
   * (teacher.ts Teacher.shared) instead of a second copy of them.
   */
  teacher?: { onnx: Uint8Array; weights: string[] };
}

/**
 * The student's inference graph (fresh from the file; guidance added the same way every time);
 * `withTeacher` also serialises the teacher's graph for a LoRA student (StudentGraph.teacher).
 */
export function studentGraph(spec: StudentSpec, withTeacher = false): StudentGraph {
  const g = spec.narrow ? narrowStudent(spec.unetPath, spec.narrow) : loadModel(spec.unetPath);
  const weights = weightNames(g);
  g.trainable.clear();
  const guided = g.inputs.includes(GUIDANCE_INPUT);
  // Before any change: with LoRA the student's frozen base is the teacher (same file, same names).
  const teacher = withTeacher && spec.loraRank > 0 && !spec.narrow ? weightsAsInputs(g, weights) : undefined;
  if (spec.addGuidance && !guided) addGuidanceInput(g);
  if (spec.startWeights) takeWeightsFrom(g, spec.startWeights);
  const added = [...g.trainable];
  if (spec.loraRank > 0) {
    // Adapters on the MatMul weights: attention q/k/v/out and feed-forward projections in an export.
    const sites = injectLora(g, { rank: spec.loraRank, targets: (_w, n) => n.op === 'MatMul' });
    return { graph: g, trainable: [...added, ...sites.flatMap((s) => [s.a, s.b])], guided: guided || spec.addGuidance, lora: sites, teacher };
  }
  return { graph: g, trainable: [...weights, ...added], guided: guided || spec.addGuidance, lora: [] };
}

/** `g` serialised with its big weights listed as inputs (so left out of the bytes); `g` is unchanged. */
function weightsAsInputs(g: Graph, weights: string[]): { onnx: Uint8Array; weights: string[] } {
  const big = weights.filter((n) => g.initializers.get(n)!.data.byteLength >= FROZEN_INPUT_MIN_BYTES);
  return { onnx: toOnnxFeeding(g, big), weights: big };
}

/**
 * Every weight of `g` replaced by the same-named tensor of the model at `path` (a half-weights.ts
 * file's `<name>.fp16` widened back); all must be there with the same shape, or the student it would
 * make is not the one asked for, so a mismatch is refused with the names.
 */
function takeWeightsFrom(g: Graph, path: string): void {
  const src = loadModel(path);
  const problems: string[] = [];
  for (const name of weightNames(g)) {
    const want = g.initializers.get(name)!;
    const v = src.initializers.get(name) ?? widened(src.initializers.get(`${name}.fp16`));
    if (!v || v.dtype !== 'float32') problems.push(`${name} missing`);
    else if (v.dims.join(',') !== want.dims.join(',')) problems.push(`${name} is [${v.dims.join(', ')}], the student's [${want.dims.join(', ')}]`);
    else g.initializers.set(name, { dtype: 'float32', dims: [...want.dims], data: v.data });
  }
  if (problems.length) {
    const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
    throw new DistillRequestError(`the stage-1 start ${path} does not fit the student (${problems.length} of ${weightNames(g).length} weights: ${shown}); give a student of the same teacher, width and guidance input`);
  }
}

function widened(v: TensorValue | undefined): TensorValue | undefined {
  if (!v || v.dtype !== 'float16') return undefined;
  return { dtype: 'float32', dims: [...v.dims], data: Float32Array.from(v.data as Uint16Array, halfToFloat) };
}

function narrowStudent(unetPath: string, n: { channels: number; headDim: number }): Graph {
  const teacher = loadModel(unetPath);
  return narrowUnetGraph(teacher, unetFamilyConfig(teacher, n.headDim, unetPath), n.channels);
}

/**
 * The training step: loss = mean_b weight_b * mean((out_b - target_b)^2), the truncated-SNR weighted
 * regression of targets.ts; inputs are the UNet's own plus `target` [B, C, H, W] and `weight` [B].
 */
export function studentTrainStep(
  spec: StudentSpec,
  o: { lr: number; clipNorm: number; weightDecay: number; iterations: number; emaDecay?: number; frozen?: FrozenPlacement | 'auto' },
): { step: TrainStep; student: StudentGraph } {
  const student = studentGraph(spec, true);
  const g = student.graph;
  const out = g.tensor(g.outputs[0]);
  g.outputs.length = 0;
  const target = g.input('target', 'float32', out.shape);
  const weight = g.input('weight', 'float32', ['batch']);
  const d = g.sub(out, target);
  const perRow = g.reduceMean(g.mul(d, d), [1, 2, 3], false);
  const loss = g.reduceMean(g.mul(perRow, weight), [0], false);
  const step = buildTrainStep(g, {
    loss,
    // Short warm-up, then cosine decay to a tenth over the phase (Loshchilov & Hutter 2017): short
    // schedules settle better than at a constant rate.
    optimizer: {
      type: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay,
      lr: { type: 'cosine', lr: o.lr, warmup: Math.min(50, Math.ceil(o.iterations / 10)), total: o.iterations, minLr: o.lr / 10 },
    },
    params: student.trainable,
    clipNorm: o.clipNorm,
    ...(o.emaDecay !== undefined ? { emaDecay: o.emaDecay } : {}),
    ...(o.frozen !== undefined ? { frozen: o.frozen } : {}),
  });
  return { step, student };
}

/**
 * Trained values into the inference graph: every trained tensor by name, and for LoRA each weight
 * W <- W + A B (alpha = rank, so the scale alpha / r is 1), so the saved model has no adapter nodes.
 * `sites`: the adapters' places from the training graph of the same spec (they depend on the graph's
 * structure only, so the LoRA graph need not be loaded again). The merge writes into the freshly
 * loaded weights (no copy of them: 3.4 GB at SD size).
 */
export function exportStudent(spec: StudentSpec, trained: Map<string, TensorValue>, sites: LoraSite[]): Graph {
  // No start weights: every weight is overwritten by a trained one below (a start means full training).
  const plain = studentGraph({ ...spec, loraRank: 0, startWeights: undefined });
  const g = plain.graph;
  for (const [name, v] of trained) {
    if (g.initializers.has(name)) g.initializers.set(name, { dtype: 'float32', dims: [...v.dims], data: (v.data as Float32Array).slice() });
  }
  if (spec.loraRank > 0) mergeLora(g.initializers, trained, sites, { inPlace: true });
  return g;
}
