/**
 * The teacher as an ONNX Runtime session on its inference UNet: one call gives its (guided) output on a
 * batch, whatever kind of teacher it is:
 *   - a plain UNet: classifier-free guidance on one batch [uncond x B, cond x B] (skipped at s = 1);
 *   - a guided student (guidance_scale input): one evaluation of B rows.
 * Plus the deterministic DDIM steps of targets.ts, so a round's two teacher steps are two calls here.
 */
import * as ort from 'onnxruntime-node';
import { getSession } from '../../runtime/sessions';
import { GUIDANCE_INPUT } from '../../nn/guided-unet';
import type { PredictionType } from '../../schedulers/config';
import { ddimStep, guide, type NoiseLevels } from './targets';

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
    readonly guided: boolean,
    readonly timestepType: string,
  ) {}

  static async open(unetPath: string, threads?: number): Promise<Teacher> {
    const s = await getSession(unetPath, { intraOpNumThreads: threads });
    const meta = (name: string) => {
      const m = s.inputMetadata.find((x) => x.name === name);
      if (!m || !m.isTensor) throw new Error(`${unetPath}: the UNet has no tensor input "${name}"`);
      return m;
    };
    const sample = meta('sample');
    if (sample.type !== 'float32') throw new Error(`${unetPath}: only float32 UNets can be distilled (sample is ${sample.type})`);
    return new Teacher(s, s.inputNames.includes(GUIDANCE_INPUT), meta('timestep').type);
  }

  /** The timestep tensor in the UNet's own type (int64 in SD 1.x exports, float in others). */
  timestepTensor(t: number[]): ort.Tensor {
    if (this.timestepType === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t, (v) => BigInt(Math.round(v))), [t.length]);
    if (this.timestepType === 'int32') return new ort.Tensor('int32', Int32Array.from(t, Math.round), [t.length]);
    return new ort.Tensor('float32', Float32Array.from(t), [t.length]);
  }

  private async run(b: TeacherBatch, z: Float32Array, t: number[], ctx: Float32Array, scales?: number[]): Promise<Float32Array> {
    const rows = t.length;
    const feeds: Record<string, ort.Tensor> = {
      sample: new ort.Tensor('float32', z, [rows, ...b.latentShape]),
      timestep: this.timestepTensor(t),
      encoder_hidden_states: new ort.Tensor('float32', ctx, [rows, ...b.contextShape]),
    };
    if (this.guided) feeds[GUIDANCE_INPUT] = new ort.Tensor('float32', Float32Array.from(scales ?? t.map(() => 1)), [rows]);
    const out = await this.session.run(feeds);
    return out.out_sample.data as Float32Array;
  }

  /** The teacher's guided output out_u + s (out_c - out_u) for each row. */
  async predict(b: TeacherBatch): Promise<Float32Array> {
    const rows = b.t.length;
    if (this.guided) return this.run(b, b.z, b.t, b.cond, b.scales);
    if (b.scales.every((s) => s === 1)) return this.run(b, b.z, b.t, b.cond);
    // One run on [uncond x B, cond x B], as the generation pipeline does it.
    const z2 = new Float32Array(2 * b.z.length);
    z2.set(b.z);
    z2.set(b.z, b.z.length);
    const ctx = new Float32Array(2 * b.cond.length);
    for (let r = 0; r < rows; r++) ctx.set(b.uncond, r * b.uncond.length);
    ctx.set(b.cond, b.cond.length);
    const out = await this.run(b, z2, [...b.t, ...b.t], ctx);
    const half = out.length / 2;
    return guide(out.subarray(0, half), out.subarray(half), b.scales);
  }

  /**
   * Two deterministic DDIM steps of the teacher per row, t -> t1 -> t2 (Algorithm 2, lines 6-9);
   * returns z_t2.
   */
  async twoSteps(kind: PredictionType, levels: NoiseLevels, b: TeacherBatch, t1: number[], t2: number[]): Promise<Float32Array> {
    const l = (ts: number[]) => ts.map((t) => levels.at(t));
    const o1 = await this.predict(b);
    const z1 = ddimStep(kind, o1, b.z, l(b.t), l(t1));
    const o2 = await this.predict({ ...b, z: z1, t: t1 });
    return ddimStep(kind, o2, z1, l(t1), l(t2));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
