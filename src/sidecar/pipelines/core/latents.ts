/**
 * Seeded noise for sampling. Each image draws from its own generators, so an image depends only on its
 * own seed: a batch of B images gives the same pixels as B single runs, and a batch size is never part
 * of what makes a result reproducible.
 */
import { SeededRandom, type NormalSource } from '../../schedulers/index';
import type { OpenModel } from '../model-sessions';

/** Image k of a request uses seed + k: every one of them must be a 32-bit unsigned integer. */
export function seedsFit(seed: number, count: number): boolean {
  return Number.isInteger(seed) && seed >= 0 && seed + count - 1 <= 0xffffffff;
}

/** Image k's initial N(0, 1) noise comes from the generator seeded (seeds[k] ^ 0x5eed): [n * per]. */
export function seededNoise(seeds: readonly number[], per: number): Float32Array {
  const noise = new Float32Array(per * seeds.length);
  seeds.forEach((seed, k) => new SeededRandom((seed ^ 0x5eed) >>> 0).fillNormal(noise.subarray(k * per, (k + 1) * per)));
  return noise;
}

/** The generators of the step noise (DDPM, Euler a): image k's is seeded seeds[k]. */
export function stepGenerators(seeds: readonly number[]): NormalSource[] {
  return seeds.map((seed) => new SeededRandom(seed));
}

/** Noise for a batch's stochastic step: image k's slice from image k's own generator. */
export function batchNoise(rngs: readonly NormalSource[]): NormalSource {
  return {
    fillNormal(out) {
      const per = out.length / rngs.length;
      rngs.forEach((r, k) => r.fillNormal(out.subarray(k * per, (k + 1) * per)));
      return out;
    },
  };
}

/**
 * The UNet's native latent size [h, w]: the export's fixed shape, else unet/config.json sample_size,
 * else `fallback` (generation and Imagic's settings: 64, SD's 512 px; eval and Imagic's sampler: 8).
 */
export function nativeLatentSize(model: OpenModel, fallback: number): [number, number] {
  const side = model.folder.sampleSize ?? fallback;
  return model.unetSig.latentSize ?? [side, side];
}
