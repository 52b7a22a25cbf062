/**
 * Classifier-free guidance (Ho & Salimans 2021, eq. 6): the UNet runs once on a batch
 * [unconditional x B, conditional x B] and the two halves are combined as
 *   out = out_u + s (out_c - out_u)
 * (diffusers' s; Meng et al. 2023 write it (1 + w) out_c - w out_u with s = 1 + w).
 * The combination is linear, so it applies to any prediction type (epsilon, v or x0).
 */
import type { UnetSignature } from './model-sessions';

/**
 * How a UNet is guided at scale s:
 *   'input'  a guided student (Meng et al. 2023): s is a UNet input, one evaluation of B rows;
 *   'batch'  classifier-free guidance on [uncond x B, cond x B], when s > 1 (diffusers' rule);
 *   'none'   the conditional rows alone.
 */
export type GuidanceMode = 'input' | 'batch' | 'none';

export function guidanceMode(sig: Pick<UnetSignature, 'guidanceInput'>, scale: number): GuidanceMode {
  if (sig.guidanceInput) return 'input';
  return scale > 1 ? 'batch' : 'none';
}

/**
 * Combines a [2B, ...] model output into [B, ...], with one scale for every row or one per row;
 * s = 1 returns the conditional half.
 */
export function applyGuidance(output: Float32Array, scale: number | readonly number[]): Float32Array {
  const half = output.length / 2;
  if (!Number.isInteger(half)) throw new Error('a guided batch must hold unconditional and conditional halves');
  const scales = typeof scale === 'number' ? [scale] : scale;
  const per = half / scales.length;
  const out = new Float32Array(half);
  for (let r = 0; r < scales.length; r++) {
    const s = scales[r];
    for (let k = r * per; k < (r + 1) * per; k++) {
      const u = output[k];
      out[k] = u + s * (output[half + k] - u);
    }
  }
  return out;
}
