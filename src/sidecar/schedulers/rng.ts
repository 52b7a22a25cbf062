/**
 * The seeded noise source: the same seed gives the same numbers, bit for bit, on the same machine
 * (only integer arithmetic, Math.log/sqrt/cos on doubles, and one rounding to float32).
 *
 * xoshiro128** (Blackman & Vigna 2018) for uniform 32-bit integers, its 128-bit state filled by
 * splitmix32 from the seed; normals by the Box-Muller transform (Box & Muller 1958), both of each pair used.
 * Seeds are integers in [0, 2^32), as in A1111; image k of a batch uses seed + k.
 */
import type { NormalSource } from './types';

export class SeededRandom implements NormalSource {
  private readonly s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`a seed must be an integer from 0 to 4294967295, got ${seed}`);
    }
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** xoshiro128**: the next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in (0, 1): 53 random bits from two draws, never exactly 0 (log(0) in Box-Muller). */
  nextUniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.nextUniform()));
    const theta = 2 * Math.PI * this.nextUniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  fillNormal(out: Float32Array): Float32Array {
    for (let k = 0; k < out.length; k++) out[k] = this.nextNormal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
