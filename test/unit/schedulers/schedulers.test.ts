// Scheduler numbers pinned to values computed independently in float64 with numpy, from the papers'
// equations, by scripts/fixtures/scheduler_reference.py (run it with /usr/bin/python3 to regenerate).
// Setting: Stable Diffusion's scaled_linear schedule (0.00085 .. 0.012, T = 1000) unless stated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createScheduler,
  defaultSchedulerConfig,
  parseSchedulerConfig,
  type NormalSource,
  type SchedulerConfig,
} from '../../../src/sidecar/schedulers/index';
import { alphaBarFor, betasFor, spacedTimesteps } from '../../../src/sidecar/schedulers/noise-schedule';

const sd = (o: Partial<SchedulerConfig> = {}) =>
  defaultSchedulerConfig({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', ...o });

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** A fixed "noise" vector so stochastic steps can be compared with the reference. */
const fixedNoise = (z: number[]): NormalSource => ({ fillNormal: (out) => (out.set(z), out) });

const x = Float32Array.from([0.5, -1.0, 2.0]);
const m = Float32Array.from([0.1, 0.3, -0.2]);
const z = [1.0, -0.5, 0.25];

test('alpha-bar for the scaled_linear, linear, cosine and zero-SNR schedules', () => {
  const a = alphaBarFor(sd());
  close([a[0], a[1], a[499], a[999]], [0.99915, 0.9982960278384514, 0.27766965045646763, 0.004660098513077238], 1e-12);
  close([alphaBarFor(defaultSchedulerConfig())[999]], [4.035829765375676e-5], 1e-9);
  const cos = betasFor(defaultSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2' }));
  close([cos[0], cos[500], cos[999]], [4.128422482196914e-5, 0.0031556914415847848, 0.999], 1e-9);
  const zs = alphaBarFor(sd({ rescale_betas_zero_snr: true }));
  close([zs[0], zs[500], zs[999]], [0.99915, 0.24101878275731575, 0], 1e-9);
});

test('leading, trailing and linspace timestep spacing', () => {
  assert.deepEqual(spacedTimesteps(1000, 4, 'leading', 1, true), [751, 501, 251, 1]);
  assert.deepEqual(spacedTimesteps(1000, 4, 'trailing', 0, true), [999, 749, 499, 249]);
  close(spacedTimesteps(1000, 4, 'linspace', 0, false), [999, 666, 333, 0], 1e-12);
  assert.deepEqual(spacedTimesteps(1000, 10, 'linspace', 0, true), [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
  assert.throws(() => spacedTimesteps(1000, 0, 'leading', 0, true), /from 1 to 1000/);
});

test('Euler sigmas and Karras sigmas with their timesteps', () => {
  const e = createScheduler('euler', sd());
  e.setTimesteps(4);
  close((e as unknown as { sigmas: number[] }).sigmas, [14.614641229333639, 2.9183071154268285, 0.9323579668348474, 0.029167158151720367, 0], 1e-9);
  close([e.initNoiseSigma], [14.614641229333639], 1e-12);
  const k = createScheduler('dpmpp_2m_karras', sd());
  k.setTimesteps(4);
  close((k as unknown as { sigmas: number[] }).sigmas.slice(0, 4), [14.614641229333643, 3.1686030729596184, 0.44691820937343973, 0.02916715815172038], 1e-9);
  // Issue 14: DPM++ Karras timesteps are rounded to integers, as diffusers' DPMSolverMultistepScheduler does
  // (were the fractional 687.1527460744259 and 145.9380686057837 before); the sigmas stay fractional.
  assert.deepEqual(k.timesteps, [999, 687, 146, 0]);
  const ek = createScheduler('euler_karras', sd());
  ek.setTimesteps(4);
  close(ek.timesteps, [999, 687.1527460744259, 145.9380686057837, 0], 1e-6); // Euler keeps them fractional (diffusers)
});

test('DDIM step, epsilon and v prediction (leading spacing, offset 1: t = 751 -> 501)', () => {
  // Issue 14: a config without clip_sample now clips x0 to [-1, 1] as diffusers' DDIM and DDPM do (the
  // old default was false); these pinned values are for clip_sample: false, which latent models set.
  for (const [kind, expected] of [
    ['epsilon', [0.9800607823231644, -2.6137917233276022, 4.704647319710185]],
    ['v_prediction', [0.4447369765242321, -1.043772000347562, 1.9641055628558457]],
  ] as const) {
    const s = createScheduler('ddim', sd({ steps_offset: 1, prediction_type: kind, clip_sample: false }));
    s.setTimesteps(4);
    assert.deepEqual(s.timesteps, [751, 501, 251, 1]);
    close(s.step(m, 0, x), [...expected], 1e-5, kind);
  }
  // The class default clips: x0 = (x - sqrt(1 - aBar) m) / sqrt(aBar) is far outside [-1, 1] here.
  const clipped = createScheduler('ddim', sd({ steps_offset: 1 }));
  clipped.setTimesteps(4);
  const a501 = alphaBarFor(sd())[501];
  const a751 = alphaBarFor(sd())[751];
  const x0c = [...x].map((v, k) => Math.min(1, Math.max(-1, (v - Math.sqrt(1 - a751) * m[k]) / Math.sqrt(a751))));
  const epsC = [...m];
  close(clipped.step(m, 0, x), x0c.map((v, k) => Math.sqrt(a501) * v + Math.sqrt(1 - a501) * epsC[k]), 1e-5, 'clip_sample default');
});

test('DDPM step adds the posterior variance times the noise', () => {
  const s = createScheduler('ddpm', sd({ steps_offset: 1, clip_sample: false })); // see the DDIM test on clip_sample
  s.setTimesteps(4);
  close(s.step(m, 0, x, fixedNoise(z)), [1.710939959474975, -3.159704015232962, 5.003385280424216], 1e-5);
  assert.throws(() => s.step(m, 0, x), /noise source/);
});

test('Euler step (epsilon and v), its input scaling, and Euler ancestral', () => {
  const e = createScheduler('euler', sd());
  e.setTimesteps(4);
  close(e.scaleModelInput(x, 0), [0.03413245710858375, -0.0682649142171675, 0.136529828434335], 1e-6);
  close(e.step(m, 0, x), [-0.6696334113906812, -4.508900234172043, 4.339266822781363], 1e-5);
  const v = createScheduler('euler', sd({ prediction_type: 'v_prediction' }));
  v.setTimesteps(4);
  close(v.step(m, 0, x), [0.021861752323669714, -0.4429481271179285, 0.5665165562593859], 1e-5);
  const a = createScheduler('euler_a', sd());
  a.setTimesteps(4);
  close(a.step(m, 0, x, fixedNoise(z)), [1.9563432846018585, -6.639337542200228, 5.521263899657158], 1e-5);
});

test('DPM-Solver++(2M): the first step is first order, and equals an Euler step in the sigma view', () => {
  // Issue 14: DPM++ now runs in diffusers' variance-preserving view (latent x_VP, init_noise_sigma 1) with
  // diffusers' n + 1 timestep spacing; the pinned VE numbers of the earlier test no longer apply (the
  // whole-loop comparison with diffusers is diffusers-agreement.test.ts). What must hold: DPM-Solver++
  // eq. 9 (first order) is DDIM, which in the sigma view x_VE = x_VP / alpha is exactly Euler's step.
  const s = createScheduler('dpmpp_2m', sd());
  s.setTimesteps(4);
  assert.deepEqual(s.timesteps, [999, 749, 500, 250]);
  const sig = (s as unknown as { sigmas: number[] }).sigmas;
  const alpha = (v: number) => 1 / Math.sqrt(v * v + 1);
  const xVp = Float32Array.from(x, (v) => v * alpha(sig[0]));
  const euler = [...x].map((v, k) => v + (sig[1] - sig[0]) * m[k]); // x0 = x - sigma m, d = m
  close(s.step(m, 0, xVp), euler.map((v) => v * alpha(sig[1])), 1e-5);
});

test('addNoise: VP form for DDIM, x0 + sigma * noise for the sigma samplers', () => {
  const d = createScheduler('ddim', sd({ steps_offset: 1 }));
  d.setTimesteps(4);
  const a = alphaBarFor(sd())[751];
  close(d.addNoise(x, Float32Array.from(z), 0), [...x].map((v, k) => Math.sqrt(a) * v + Math.sqrt(1 - a) * z[k]));
  const e = createScheduler('euler', sd());
  e.setTimesteps(4);
  close(e.addNoise(x, Float32Array.from(z), 1), [...x].map((v, k) => v + 2.9183071154268285 * z[k]));
});

test('every scheduler takes the noise from a pure-noise start to a clean sample for a perfect denoiser', () => {
  // With eps-prediction that returns the true noise, every sampler must land on x0 (up to float error).
  const x0 = Float32Array.from([0.3, -0.7, 0.1, 0.9]);
  const eps = Float32Array.from([1.2, -0.4, 0.8, -1.5]);
  for (const name of ['ddim', 'euler', 'dpmpp_2m', 'dpmpp_2m_karras'] as const) {
    const s = createScheduler(name, sd({ timestep_spacing: 'trailing' }));
    s.setTimesteps(8);
    let sample = s.addNoise(x0, eps, 0);
    for (let i = 0; i < 8; i++) {
      // The true noise for the current sample: sample = x0 + sigma*eps (VE) or VP-mixed; eps is constant.
      sample = s.step(eps, i, sample);
    }
    close(sample, [...x0], 1e-4, name);
  }
});

test('PNDM image-to-image from every start step: the warm-up runs from the start, the sample lands on x0', () => {
  // A start at step 1 used to land on the second half of the first warm-up pair and fail.
  const x0 = Float32Array.from([0.3, -0.7, 0.1, 0.9]);
  const eps = Float32Array.from([1.2, -0.4, 0.8, -1.5]);
  const spaced = spacedTimesteps(1000, 8, 'leading', 1, true);
  for (let start = 0; start < 8; start++) {
    const s = createScheduler('pndm', sd({ steps_offset: 1, set_alpha_to_one: true })); // the last step ends at alpha-bar 1: clean
    s.setTimesteps(8);
    const i0 = s.startIndex!(start);
    assert.equal(s.timesteps[i0], spaced[start], `start ${start}: not at t_${start}`);
    let sample = s.addNoise(x0, eps, i0);
    for (let i = i0; i < s.timesteps.length; i++) sample = s.step(eps, i, sample);
    close(sample, [...x0], 1e-4, `pndm from step ${start}`);
  }
});

test('scheduler_config.json: defaults, nulls, and a clear error for a bad value', () => {
  const c = parseSchedulerConfig({ _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear', timestep_spacing: null });
  assert.equal(c.num_train_timesteps, 1000);
  assert.equal(c.timestep_spacing, null);
  assert.throws(() => parseSchedulerConfig({ beta_schedule: 'quadratic' }, 'm/scheduler/scheduler_config.json'), /m\/scheduler\/scheduler_config.json: beta_schedule/);
});
