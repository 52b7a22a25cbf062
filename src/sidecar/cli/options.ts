/**
 * Option parsers shared by the subcommands. Commander hands every value over as a string; these turn
 * them into numbers with a message that names the flag, so a typo never reaches a pipeline as NaN.
 */
import { UserError } from './errors';

/** Commander accumulator for a repeatable option (`--models-dir a --models-dir b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A whole number, or undefined when the flag was not given. */
export function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new UserError(`${flag} must be a whole number, got "${v}"`);
  return Number(v);
}

/** A finite number, or undefined when the flag was not given. */
export function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`${flag} must be a number, got "${v}"`);
  return n;
}
