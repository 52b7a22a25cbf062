/**
 * Classifier-free guidance (Ho & Salimans 2021, eq. 6): the UNet runs once on a batch
 * [unconditional x B, conditional x B] and the two halves are combined as
 *   out = out_u + s (out_c - out_u).
 * The combination is linear, so it applies to any prediction type (epsilon, v or x0).
 */

/** Combines a [2B, ...] model output into [B, ...]; s = 1 returns the conditional half. */
export function applyGuidance(output: Float32Array, scale: number): Float32Array {
  const half = output.length / 2;
  if (!Number.isInteger(half)) throw new Error('a guided batch must hold unconditional and conditional halves');
  const out = new Float32Array(half);
  for (let k = 0; k < half; k++) {
    const u = output[k];
    out[k] = u + scale * (output[half + k] - u);
  }
  return out;
}

/** Whether a (non-student) UNet needs the unconditional half: diffusers' rule, guidance scale > 1. */
export function usesGuidanceBatch(scale: number): boolean {
  return scale > 1;
}
