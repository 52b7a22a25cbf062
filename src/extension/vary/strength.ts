/** Vary Image's strength, as typed by a user: no VS Code here (unit tests run it). */
import { GenerateParams } from '../../protocol';

const STRENGTH = GenerateParams.shape.strength.unwrap();

/** The strength a text means, or the message to show under the input box. */
export function parseStrength(text: string): { strength: number } | { error: string } {
  const t = text.trim();
  const n = /^[+]?(\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n) || !STRENGTH.safeParse(n).success) {
    return { error: `Strength must be a number greater than 0 and at most 1 (how much of the image is repainted); got "${t}"` };
  }
  return { strength: n };
}
