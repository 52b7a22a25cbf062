// Whole sampling loops against diffusers' own scheduler code: test/fixtures/diffusers-schedulers/<id>.json,
// written by scripts/reference/diffusers_schedulers.py (its header says how to regenerate and the file
// names the diffusers commit). Each case runs the loop a diffusers pipeline runs (latents = noise *
// init_noise_sigma; per step scale_model_input, the fake model, step) with the same fake model and the
// same noise, and compares timesteps, sigmas, init_noise_sigma, the input scale and every step's sample.
// Error measure: per step, max |ours - diffusers| / max |diffusers| over the latent; the worst over the
// grid is printed and must stay under 1e-4 (docs/GENERATION.md lists the figures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createScheduler, isSchedulerName, parseSchedulerConfig, type NormalSource } from '../../../src/sidecar/schedulers/index';

const DIR = join(__dirname, '..', '..', 'fixtures', 'diffusers-schedulers');
const TOLERANCE = 1e-4;

interface Case {
  config: Record<string, unknown>;
  steps: number;
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
  scale: number[];
  prev_samples: number[][];
  step_noise?: (number[] | null)[];
}
interface Fixture {
  diffusers_commit: string;
  class_name: string;
  init_noise: number[];
  trained_betas: number[];
  cases: Case[];
}

/** The fake model of the generator: out[k] = fround(0.1 x[k] + 0.05 sin(t / 100 + k)). */
function fakeModel(x: Float32Array, t: number): Float32Array {
  return Float32Array.from(x, (v, k) => 0.1 * v + 0.05 * Math.sin(t / 100 + k));
}

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < ref.length; k++) {
    num = Math.max(num, Math.abs(ours[k] - ref[k]));
    den = Math.max(den, Math.abs(ref[k]));
  }
  return den === 0 ? num : num / den;
}

/** Runs one case; returns the worst relative error over its quantities, or throws naming what differs. */
export function runCase(id: string, fx: Fixture, c: Case): number {
  const raw = { ...c.config };
  if (raw.trained_betas === 'TRAINED_BETAS') raw.trained_betas = fx.trained_betas;
  if (!isSchedulerName(id)) throw new Error(`no sampler ${id}`);
  const s = createScheduler(id, parseSchedulerConfig(raw));
  s.setTimesteps(c.steps);
  let worst = 0;
  const check = (what: string, ours: ArrayLike<number>, ref: ArrayLike<number>) => {
    assert.equal(ours.length, ref.length, `${what}: ${ours.length} values, diffusers ${ref.length}`);
    const e = relErr(ours, ref);
    if (!(e <= TOLERANCE)) throw new Error(`${what}: relative error ${e.toExponential(2)} (ours ${Array.from(ours).slice(0, 4).join(', ')} ...; diffusers ${Array.from(ref).slice(0, 4).join(', ')} ...)`);
    worst = Math.max(worst, e);
  };
  check('timesteps', s.timesteps, c.timesteps);
  if (c.sigmas) check('sigmas', (s as unknown as { sigmas: number[] }).sigmas, c.sigmas);
  check('init_noise_sigma', [s.initNoiseSigma], [c.init_noise_sigma]);
  let x: Float32Array = Float32Array.from(fx.init_noise, (v) => v * s.initNoiseSigma);
  for (let i = 0; i < s.timesteps.length; i++) {
    const scaled = s.scaleModelInput(x, i);
    check(`scale_model_input at step ${i}`, [scaled[0] / x[0]], [c.scale[i]]);
    const out = fakeModel(scaled, s.timesteps[i]);
    const z = c.step_noise?.[i] ?? null;
    const noise: NormalSource = {
      fillNormal: (o) => {
        if (!z) throw new Error(`step ${i}: diffusers drew no noise here`);
        o.set(z.slice(0, o.length));
        return o;
      },
    };
    x = s.step(out, i, x, noise);
    check(`sample after step ${i}`, x, c.prev_samples[i]);
  }
  return worst;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('a fixture for every sampler of the table, and a sampler for every fixture', () => {
  const ids = files.map((f) => f.replace(/\.json$/, ''));
  for (const id of ids) assert.ok(isSchedulerName(id), `fixture ${id}.json has no sampler`);
});

for (const file of files) {
  const id = file.replace(/\.json$/, '');
  test(`${id} agrees with diffusers over its whole grid`, () => {
    const fx = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
    let worst = 0;
    const failures: string[] = [];
    for (const c of fx.cases) {
      const { trained_betas, ...shown } = c.config;
      const label = `${JSON.stringify(shown)}${trained_betas ? ' +trained_betas' : ''}, ${c.steps} steps`;
      try {
        worst = Math.max(worst, runCase(id, fx, c));
      } catch (e) {
        failures.push(`${label}: ${(e as Error).message}`);
      }
    }
    console.log(`agreement ${id} (${fx.class_name}): ${fx.cases.length} cases, worst relative error ${worst.toExponential(2)}`);
    assert.deepEqual(failures, [], `${failures.length} of ${fx.cases.length} cases differ from diffusers`);
  });
}
