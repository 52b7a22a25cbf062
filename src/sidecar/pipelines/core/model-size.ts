/**
 * Where a model stops being "small" for the training features (Imagic stage 2, distillation): at or
 * below this many UNet weights every weight is trained; above it LoRA adapters are, by default. Every
 * weight of a Stable Diffusion UNet (860 M) with its Adam moments and gradients is over 10 GB, and
 * LoRA is what the large-model references use; the embedded family (a few M) trains whole in seconds.
 */
export const SMALL_MODEL_PARAMETERS = 50_000_000;

/** The LoRA rank a large model's training gets when the request names none. */
export const DEFAULT_LORA_RANK = 4;

/** The LoRA rank a distillation trains with: the requested one (0: every weight), else by model size. */
export function distillLoraRank(requested: number | undefined, unetParameters: number): number {
  return requested ?? (unetParameters > SMALL_MODEL_PARAMETERS ? DEFAULT_LORA_RANK : 0);
}
