/**
 * The UNet's inputs, built in the dtypes and shapes its export declares (pipelines/model-sessions.ts
 * checks them): `sample` [rows, C, h, w], `timestep` (int64 in SD 1.x exports, float in others; a
 * scalar, [1] shared by the batch, or one per row), `encoder_hidden_states` [rows, L, D], and for a
 * guided student `guidance_scale`. Every caller that runs a UNet (generation, evaluation, Imagic's
 * sampling and training, the distillation teacher) builds its feeds here.
 */
import * as ort from 'onnxruntime-node';
import type { UnetSignature } from '../model-sessions';
import { floatTensor } from '../tensors';

/** The parts of a UNet's signature its feeds depend on (the distillation teacher has no OpenModel). */
export type FeedSignature = Pick<UnetSignature, 'floatType' | 'timestepType' | 'timestepShape' | 'guidanceInput'>;
type ShapeKind = UnetSignature['timestepShape'];

/** One value per row ('batch'), or the first alone, as [1] ('one') or a scalar, when the batch shares it. */
function perRow(shape: ShapeKind, values: readonly number[]): { values: readonly number[]; dims: number[] } {
  const v = shape === 'batch' ? values : values.slice(0, 1);
  return { values: v, dims: shape === 'scalar' ? [] : [v.length] };
}

/** The timestep input, one value per row; integer types get the (possibly fractional) timesteps rounded. */
export function timestepTensor(type: UnetSignature['timestepType'], shape: ShapeKind, ts: readonly number[]): ort.Tensor {
  const { values, dims } = perRow(shape, ts);
  // plain loops: TypedArray.from with a map function costs several times more, once per step
  if (type === 'int64') {
    const out = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.round(values[i]));
    return new ort.Tensor('int64', out, dims);
  }
  if (type === 'int32') {
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i]);
    return new ort.Tensor('int32', out, dims);
  }
  return floatTensor(type, Float32Array.from(values), dims);
}

/**
 * encoder_hidden_states rows for n images: [uncond x n, cond_1 .. cond_n] for a classifier-free guidance
 * batch (Ho & Salimans 2021; the order diffusers uses), else just the conditional rows.
 */
export function contextRows(cond: Float32Array, uncond: Float32Array | null, n: number): Float32Array {
  if (!uncond) return cond;
  const out = new Float32Array(uncond.length * n + cond.length);
  for (let k = 0; k < n; k++) out.set(uncond, k * uncond.length);
  out.set(cond, n * uncond.length);
  return out;
}

export interface UnetInput {
  /** The model input for every row, [rows, C, h, w] flattened. */
  sample: Float32Array;
  /** One row's latent dims [C, h, w]. */
  shape: readonly number[];
  /** Timestep per row. */
  timesteps: readonly number[];
  /** encoder_hidden_states, already a tensor (it stays the same for every step). */
  context: ort.Tensor;
  /** A guided student's guidance scale per row; ignored by a UNet without that input. */
  scales?: readonly number[];
}

export function unetFeeds(sig: FeedSignature, x: UnetInput): Record<string, ort.Tensor> {
  const rows = x.timesteps.length;
  const feeds: Record<string, ort.Tensor> = {
    sample: floatTensor(sig.floatType, x.sample, [rows, ...x.shape]),
    timestep: timestepTensor(sig.timestepType, sig.timestepShape, x.timesteps),
    encoder_hidden_states: x.context,
  };
  if (sig.guidanceInput) {
    if (!x.scales) throw new Error('a guided student needs a guidance scale per row');
    const { values, dims } = perRow(sig.guidanceInput.shape, x.scales);
    feeds.guidance_scale = floatTensor(sig.guidanceInput.type, Float32Array.from(values), dims);
  }
  return feeds;
}
