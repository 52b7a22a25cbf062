// schedulers/prediction.ts: the conversions between a model output and (x0, eps) are each other's
// inverses, the array and per-element forms agree, and x_t = alpha x0 + sigma eps holds for each kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { predictionFor, predictionTarget, predictX0Ve, splitPrediction, splitPredictionVp } from '../../../src/sidecar/schedulers/prediction';
import type { PredictionType } from '../../../src/sidecar/schedulers/config';

const kinds: PredictionType[] = ['epsilon', 'v_prediction', 'sample'];
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9 * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`);

for (const kind of kinds) {
  test(`${kind}: output -> (x0, eps) -> output round trip, and x_t = alpha x0 + sigma eps`, () => {
    for (const aBar of [0.999, 0.5, 0.02]) {
      const l = { alpha: Math.sqrt(aBar), sigma: Math.sqrt(1 - aBar) };
      const [x0, eps] = [0.3, -1.2];
      const z = l.alpha * x0 + l.sigma * eps;
      const out = predictionTarget(kind, x0, eps, l);
      const split = splitPrediction(kind, out, z, l);
      close(split.x, x0, 'x0');
      close(split.eps, eps, 'eps');
      close(predictionFor(kind, x0, z, l), out, 'output from x0 and x_t');
      // The array form (schedulers, float32 in and out) gives the per-element form's values, rounded.
      const [o32, z32] = [Math.fround(out), Math.fround(z)];
      const v = splitPredictionVp(kind, Float32Array.of(o32), Float32Array.of(z32), aBar);
      const s32 = splitPrediction(kind, o32, z32, l);
      assert.equal(v.x0[0], Math.fround(s32.x));
      assert.equal(v.eps[0], Math.fround(s32.eps));
    }
  });
}

test('the variance-exploding x0 is the variance-preserving one at aBar = 1 / (sigma^2 + 1)', () => {
  const sigma = 2.5;
  const aBar = 1 / (sigma * sigma + 1);
  const x = Float32Array.of(1.7, -0.4);
  const out = Float32Array.of(0.2, 0.9);
  for (const kind of kinds) {
    // The UNet saw x / sqrt(sigma^2 + 1), the variance-preserving sample.
    const vp = splitPredictionVp(kind, out, x.map((v) => v * Math.sqrt(aBar)), aBar).x0;
    const ve = predictX0Ve(kind, out, x, sigma);
    for (let k = 0; k < 2; k++) assert.ok(Math.abs(vp[k] - ve[k]) < 1e-5, `${kind}: ${vp[k]} vs ${ve[k]}`);
  }
});
