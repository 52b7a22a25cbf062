/**
 * The teacher as an ONNX Runtime session on its inference UNet: one call gives its (guided) output on a
 * batch, whatever kind of teacher it is:
 *   - a plain UNet: classifier-free guidance on one batch [uncond x B, cond x B] (skipped at s = 1);
 *   - a guided student (guidance_scale input): one evaluation of B rows.
 * Plus the deterministic DDIM steps of targets.ts, so a round's two teacher steps are two calls here.
 * Its feeds and the guidance combine are the generation pipeline's (core/unet-feeds.ts, guidance.ts).
 */
import * as ort from 'onnxruntime-node';
import { getSession } from '../../runtime/sessions';
import { sessionOptions } from '../../runtime/session-options';
import { GUIDANCE_INPUT } from '../../nn/guided-unet';
import type { PredictionType } from '../../schedulers/config';
import { contextRows, unetFeeds, type FeedSignature } from '../core/unet-feeds';
import { applyGuidance, type GuidanceMode } from '../guidance';
import { floatTensor, tile } from '../tensors';
import { ddimStep, type NoiseLevels, type RoundStep } from './targets';

export interface TeacherBatch {
  /** z_t for B rows, [B, C, H, W] flattened. */
  z: Float32Array;
  /** Training timestep per row. */
  t: number[];
  /** Conditional text embeddings [B, L, D] flattened, and the unconditional one [L, D]. */
  cond: Float32Array;
  uncond: Float32Array;
  /** Guidance scale per row (diffusers' s = 1 + w). */
  scales: number[];
  /** One row's latent dims [C, H, W] and context dims [L, D]. */
  latentShape: number[];
  contextShape: number[];
}

export class Teacher {
  private constructor(
    readonly session: ort.InferenceSession,
    /** Its inputs as the feeds see them: float32, one timestep (and guidance scale) per row. */
    readonly sig: FeedSignature,
    /** Weights fed with every run (Teacher.shared); empty for a session that holds its own. */
    private readonly weights: Readonly<Record<string, ort.Tensor>> = {},
  ) {}

  static async open(unetPath: string, threads?: number): Promise<Teacher> {
    return Teacher.wrap(await getSession(unetPath, { intraOpNumThreads: threads }), unetPath);
  }

  /**
   * A LoRA student's teacher without a second copy of its weights: its graph with the weights as
   * inputs (StudentGraph.teacher), run on the very tensors the student's training step is fed (its
   * frozen base; Trainer.frozenFeeds). At Stable Diffusion size this saves the UNet file's size
   * (3.4 GB fp32). Undefined when the training step holds its weights itself (small models: they
   * stay initializers there), so that the caller opens the file instead.
   */
  static async shared(teacher: { onnx: Uint8Array; weights: string[] }, fed: Readonly<Record<string, ort.Tensor>>, label: string, threads?: number): Promise<Teacher | undefined> {
    if (teacher.weights.length === 0 || !teacher.weights.every((n) => fed[n])) return undefined;
    const weights = Object.fromEntries(teacher.weights.map((n) => [n, fed[n]]));
    const options = sessionOptions({ intraOpNumThreads: threads });
    options.enableCpuMemArena = false; // as the training step's (Trainer.create): activations go back at once
    return Teacher.wrap(await ort.InferenceSession.create(teacher.onnx, options), label, weights);
  }

  private static wrap(s: ort.InferenceSession, unetPath: string, weights: Record<string, ort.Tensor> = {}): Teacher {
    const meta = (name: string) => {
      const m = s.inputMetadata.find((x) => x.name === name);
      if (!m || !m.isTensor) throw new Error(`${unetPath}: the UNet has no tensor input "${name}"`);
      return m;
    };
    const sample = meta('sample');
    if (sample.type !== 'float32') throw new Error(`${unetPath}: only float32 UNets can be distilled (sample is ${sample.type})`);
    const guided = s.inputNames.includes(GUIDANCE_INPUT);
    const sig: FeedSignature = {
      floatType: 'float32',
      timestepType: meta('timestep').type as FeedSignature['timestepType'],
      timestepShape: 'batch',
      guidanceInput: guided ? { type: 'float32', shape: 'batch' } : null,
    };
    return new Teacher(s, sig, weights);
  }

  /** Whether this teacher runs on weights it shares with the student's training step. */
  get sharesWeights(): boolean {
    return Object.keys(this.weights).length > 0;
  }

  get guided(): boolean {
    return this.sig.guidanceInput !== null;
  }

  private async run(b: TeacherBatch, z: Float32Array, t: number[], ctx: Float32Array, scales?: number[]): Promise<Float32Array> {
    const context = floatTensor('float32', ctx, [t.length, ...b.contextShape]);
    const out = await this.session.run({ ...unetFeeds(this.sig, { sample: z, shape: b.latentShape, timesteps: t, context, scales }), ...this.weights });
    return out.out_sample.data as Float32Array;
  }

  /**
   * How the teacher guides at these scales: a guided student through its input; a plain UNet with a
   * guidance batch at any s != 1 (guidance ranges may reach below 1, where generation's s > 1 rule
   * would drop guidance), and on the conditional rows alone when every s = 1.
   */
  guidanceMode(scales: readonly number[]): GuidanceMode {
    if (this.guided) return 'input';
    return scales.every((s) => s === 1) ? 'none' : 'batch';
  }

  /** The teacher's guided output out_u + s (out_c - out_u) for each row. */
  async predict(b: TeacherBatch): Promise<Float32Array> {
    const mode = this.guidanceMode(b.scales);
    if (mode === 'input') return this.run(b, b.z, b.t, b.cond, b.scales);
    if (mode === 'none') return this.run(b, b.z, b.t, b.cond);
    // One run on [uncond x B, cond x B], as the generation pipeline does it.
    const out = await this.run(b, tile(b.z, 2), [...b.t, ...b.t], contextRows(b.cond, b.uncond, b.t.length));
    return applyGuidance(out, b.scales);
  }

  /**
   * Two deterministic DDIM steps of the teacher per row (Algorithm 2, lines 6-9): from level t to
   * `land1`, then a UNet call at `mid` (told that level) to `land2`; returns the latent at `land2`.
   * On the grid, land1 = mid (targets.ts roundSteps).
   */
  async twoSteps(kind: PredictionType, levels: NoiseLevels, b: TeacherBatch, steps: Pick<RoundStep, 'mid' | 'land1' | 'land2'>[]): Promise<Float32Array> {
    const l = (ts: number[]) => ts.map((t) => levels.at(t));
    const mid = steps.map((s) => s.mid);
    const o1 = await this.predict(b);
    const z1 = ddimStep(kind, o1, b.z, l(b.t), l(steps.map((s) => s.land1)));
    const o2 = await this.predict({ ...b, z: z1, t: mid });
    return ddimStep(kind, o2, z1, l(mid), l(steps.map((s) => s.land2)));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The teacher of a student whose training step is fed `fed` (Trainer.frozenFeeds): sharing those
 * weights when `shareable` (StudentGraph.teacher) lists them all, else its own session on the file.
 */
export async function openTeacher(unetPath: string, shareable: { onnx: Uint8Array; weights: string[] } | undefined, fed: Readonly<Record<string, ort.Tensor>>, threads?: number): Promise<Teacher> {
  const shared = shareable ? await Teacher.shared(shareable, fed, unetPath, threads) : undefined;
  return shared ?? Teacher.open(unetPath, threads);
}
