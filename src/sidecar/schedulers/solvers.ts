/**
 * Multistep exponential-integrator solvers in the variance-preserving view, as diffusers runs them:
 * DPM-Solver++ (2M and 2M SDE; Lu et al. 2022, "DPM-Solver++") and UniPC (Zhao et al. 2023). The sample
 * is x_t = alpha_t x0 + sigma_t eps with alpha_t = 1 / sqrt(s^2 + 1), sigma_t = s alpha_t for the VE
 * sigma s of the step; the initial noise has variance 1 and the UNet sees x_t as is. Timesteps: n + 1
 * points for linspace and leading spacing, the last dropped (noise-schedule.ts solverTimesteps); Karras
 * sigmas span the whole training table (sigma_1 .. sigma_T) and their timesteps are rounded to integers.
 *
 * Glossary: lambda = log(alpha_t / sigma_t) = -log s (half the log-SNR), h = lambda_next - lambda,
 * D0 = the newest x0 estimate, D1 = the finite difference of the last two (eq. numbers from the papers).
 */
import { classDefault, refuseUnsupported, SchedulerConfigError, type SchedulerConfig } from './config';
import { interpAt, karrasSigmas, roundHalfEven, sigmaToTimestep, solverTimesteps } from './noise-schedule';
import { requireNoise } from './ddim';
import { splitPredictionVp } from './prediction';
import { sigmaTableFor, labelWithKarras } from './sigma-schedulers';
import { combine, type Latents, type NormalSource, type Scheduler, type SchedulerName } from './types';
import { samplerLabel } from '../../protocol/samplers';

/** alpha_t, sigma_t and lambda of a VE sigma s (diffusers' _sigma_to_alpha_sigma_t). */
function vp(s: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = 1 / Math.sqrt(s * s + 1);
  return { alpha, sigma: s * alpha, lambda: -Math.log(s) };
}

abstract class SolverScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  abstract readonly displayName: string;
  readonly initNoiseSigma = 1;
  readonly sigmaTable: Float64Array;
  timesteps: number[] = [];
  sigmas: number[] = [];
  /** The last x0 estimates, oldest first (at most solver order). */
  protected outputs: Latents[] = [];
  protected lowerOrderNums = 0;

  constructor(readonly config: SchedulerConfig, readonly karras: boolean, private readonly karrasRange: 'table' | 'config') {
    this.sigmaTable = sigmaTableFor(config);
    refuseUnsupported(config, 'multistep', ['thresholding', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas', 'use_flow_sigmas', 'lambda_min_clipped']);
    if (config.variance_type !== null) throw new SchedulerConfigError(`scheduler_config.json: variance_type "${config.variance_type}" (learned variance) is not implemented by the ${this.constructor.name} here`);
  }

  setTimesteps(n: number): void {
    const T = this.config.num_train_timesteps;
    const table = this.sigmaTable;
    let ts = solverTimesteps(T, n, classDefault(this.config.timestep_spacing, 'linspace'), this.config.steps_offset);
    let sigmas: number[];
    let last = this.config.final_sigmas_type === 'sigma_min' ? table[0] : 0;
    if (this.karras) {
      const cfg = this.karrasRange === 'config';
      sigmas = karrasSigmas((cfg ? this.config.sigma_min : null) ?? table[0], (cfg ? this.config.sigma_max : null) ?? table[T - 1], n);
      ts = sigmas.map((s) => sigmaToTimestep(table, s));
      // Rounded, except DPM-Solver on the cosine schedule, whose timesteps diffusers truncates (the int64 cast).
      ts = ts.map(cfg || this.config.beta_schedule !== 'squaredcos_cap_v2' ? roundHalfEven : Math.trunc);
      if (cfg && this.config.final_sigmas_type === 'sigma_min') last = sigmas[sigmas.length - 1];
    } else {
      sigmas = ts.map((t) => interpAt(table, t));
    }
    this.timesteps = ts;
    this.sigmas = [...sigmas, last];
    this.outputs = [];
    this.lowerOrderNums = 0;
    this.resetState();
  }

  protected resetState(): void {}

  scaleModelInput(sample: Float32Array): Latents {
    return sample.slice();
  }

  /** Forward process at step i: alpha_t x0 + sigma_t noise. */
  addNoise(original: Float32Array, noise: Float32Array, i: number): Latents {
    const { alpha, sigma } = vp(this.sigmaAt(i));
    return combine(alpha, original, sigma, noise);
  }

  protected sigmaAt(i: number): number {
    const s = this.sigmas[i];
    if (s === undefined || i >= this.timesteps.length) throw new Error(`step ${i} is outside the ${this.timesteps.length} steps set`);
    return s;
  }

  /** The data prediction x0 from any prediction type (DPM-Solver++ section 4), at aBar = alpha_t^2. */
  protected dataPrediction(modelOutput: Float32Array, sample: Float32Array, s: number): Latents {
    return splitPredictionVp(this.config.prediction_type, modelOutput, sample, 1 / (s * s + 1)).x0;
  }

  protected remember(x0: Latents, order: number): void {
    this.outputs = [...this.outputs.slice(-(order - 1)), x0].slice(-order);
  }

  abstract step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents;
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) and its SDE variant (section 5, "SDE-DPM-Solver++(2M)"),
 * solver order 1 or 2, midpoint or heun second-order term, diffusers' lower-order rules: first order
 * for the first step and the last (when final_sigmas_type is zero, euler_at_final, or fewer than 15
 * steps with lower_order_final), second order for the rest. Ids dpmpp_2m, dpmpp_2m_karras (Karras sigmas
 * always) and dpmpp_2m_sde (the SDE always); dpmpp_2m follows the config's use_karras_sigmas and
 * algorithm_type, as diffusers' DPMSolverMultistepScheduler does.
 */
export class DpmSolverMultistepScheduler extends SolverScheduler {
  readonly name: 'dpmpp_2m' | 'dpmpp_2m_karras' | 'dpmpp_2m_sde';
  readonly displayName: string;
  readonly sde: boolean;
  private readonly solverOrder: number;
  private readonly heunTerm: boolean;

  constructor(config: SchedulerConfig, opts: { karras?: boolean; sde?: boolean } = {}) {
    super(config, opts.karras ?? config.use_karras_sigmas, 'table');
    const algorithm = config.algorithm_type ?? 'dpmsolver++';
    if (!['dpmsolver++', 'sde-dpmsolver++', 'deis'].includes(algorithm)) {
      throw new SchedulerConfigError(`scheduler_config.json: algorithm_type "${algorithm}" is not implemented here (dpmsolver++, sde-dpmsolver++)`);
    }
    this.sde = opts.sde ?? algorithm === 'sde-dpmsolver++';
    this.solverOrder = classDefault(config.solver_order, 2);
    if (this.solverOrder > 2) throw new SchedulerConfigError(`scheduler_config.json: solver_order ${this.solverOrder} is not implemented by DPM++ here (1 or 2)`);
    const type = config.solver_type ?? 'midpoint';
    if (!['midpoint', 'heun', 'logrho', 'bh1', 'bh2'].includes(type)) throw new SchedulerConfigError(`scheduler_config.json: solver_type "${type}" is not implemented by DPM++ (midpoint, heun)`);
    this.heunTerm = type === 'heun';
    this.name = this.sde ? 'dpmpp_2m_sde' : this.karras ? 'dpmpp_2m_karras' : 'dpmpp_2m';
    this.displayName = this.sde ? labelWithKarras(this.name, this.karras) : samplerLabel(this.name);
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NormalSource): Latents {
    const c = this.config;
    const n = this.timesteps.length;
    const lowerFinal = i === n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15) || c.final_sigmas_type === 'zero');
    const x0 = this.dataPrediction(modelOutput, sample, this.sigmaAt(i));
    this.remember(x0, this.solverOrder);
    const z = this.sde ? requireNoise(noise, this.name).fillNormal(new Float32Array(sample.length)) : null;
    // (diffusers' "lower_order_second" rule only matters for order 3, which is refused.)
    const firstOrder = this.solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal;
    const out = firstOrder ? this.firstOrder(i, sample, x0, z) : this.secondOrder(i, sample, z);
    if (this.lowerOrderNums < this.solverOrder) this.lowerOrderNums++;
    return out;
  }

  /** DPM-Solver++ eq. 9 (first order, = DDIM): x_t = sigma_t/sigma_s x - alpha_t (e^-h - 1) D0; SDE: section 5. */
  private firstOrder(i: number, x: Float32Array, d0: Latents, z: Float32Array | null): Latents {
    const s = vp(this.sigmas[i]);
    const t = vp(this.sigmas[i + 1]);
    const h = t.lambda - s.lambda;
    if (!z) return combine(t.sigma / s.sigma, x, -t.alpha * Math.expm1(-h), d0);
    const out = combine((t.sigma / s.sigma) * Math.exp(-h), x, -t.alpha * Math.expm1(-2 * h), d0);
    addScaled(out, t.sigma * Math.sqrt(-Math.expm1(-2 * h)), z);
    return out;
  }

  /** DPM-Solver++(2M), Algorithm 2: D1 = (m0 - m1) / r0 with r0 = h_prev / h; midpoint or heun weight on D1. */
  private secondOrder(i: number, x: Float32Array, z: Float32Array | null): Latents {
    const t = vp(this.sigmas[i + 1]);
    const s0 = vp(this.sigmas[i]);
    const s1 = vp(this.sigmas[i - 1]);
    const [m1, m0] = this.outputs.slice(-2);
    const h = t.lambda - s0.lambda;
    const r0 = (s0.lambda - s1.lambda) / h;
    const d1 = combine(1 / r0, m0, -1 / r0, m1);
    if (!z) {
      const e = Math.expm1(-h); // e^-h - 1
      const w1 = this.heunTerm ? t.alpha * (e / h + 1) : -0.5 * t.alpha * e;
      const out = combine(t.sigma / s0.sigma, x, -t.alpha * e, m0);
      addScaled(out, w1, d1);
      return out;
    }
    const e2 = -Math.expm1(-2 * h); // 1 - e^-2h
    const w1 = this.heunTerm ? t.alpha * (e2 / (-2 * h) + 1) : 0.5 * t.alpha * e2;
    const out = combine((t.sigma / s0.sigma) * Math.exp(-h), x, t.alpha * e2, m0);
    addScaled(out, w1, d1);
    addScaled(out, t.sigma * Math.sqrt(e2), z);
    return out;
  }
}

/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework"): the predictor UniP-p and,
 * from the second step on, the corrector UniC-p applied to the sample the previous step produced, once
 * the model output at that sample is known (so no extra model evaluation). B(h) = h (bh1) or e^h - 1
 * (bh2, the default); the coefficients rho solve R rho = b (eq. in Algorithm 2/3, with phi_k functions
 * of h). Data prediction (predict_x0) only; disable_corrector, solver_order and lower_order_final honoured.
 */
export class UniPcScheduler extends SolverScheduler {
  readonly name = 'unipc' as const;
  readonly displayName: string;
  private readonly solverOrder: number;
  private readonly bh1: boolean;
  private lastSample: Float32Array | null = null;
  private thisOrder = 1;

  constructor(config: SchedulerConfig) {
    super(config, config.use_karras_sigmas, 'config');
    refuseUnsupported(config, 'UniPC', ['predict_x0', 'solver_p']);
    this.solverOrder = classDefault(config.solver_order, 2);
    const type = config.solver_type ?? 'bh2';
    if (!['bh1', 'bh2', 'midpoint', 'heun', 'logrho'].includes(type)) throw new SchedulerConfigError(`scheduler_config.json: solver_type "${type}" is not implemented by UniPC (bh1, bh2)`);
    this.bh1 = type === 'bh1';
    this.displayName = labelWithKarras(this.name, this.karras);
  }

  protected override resetState(): void {
    this.lastSample = null;
    this.thisOrder = 1;
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Latents {
    const x0 = this.dataPrediction(modelOutput, sample, this.sigmaAt(i));
    let x = sample;
    if (i > 0 && !this.config.disable_corrector.includes(i - 1) && this.lastSample) {
      x = this.correct(i, x0, this.lastSample, this.thisOrder);
    }
    this.remember(x0, this.solverOrder);
    const wanted = this.config.lower_order_final ? Math.min(this.solverOrder, this.timesteps.length - i) : this.solverOrder;
    this.thisOrder = Math.min(wanted, this.lowerOrderNums + 1);
    this.lastSample = x;
    const out = this.predict(i, x, this.thisOrder);
    if (this.lowerOrderNums < this.solverOrder) this.lowerOrderNums++;
    return out;
  }

  /** The phi-function vector b and the matrix R of rk powers for a step from s0 to t with h = lambda_t - lambda_s0. */
  private system(h: number, rks: number[], order: number): { R: number[][]; b: number[]; hPhi1: number; Bh: number } {
    const hh = -h; // data prediction
    const hPhi1 = Math.expm1(hh);
    let hPhiK = hPhi1 / hh - 1;
    let factorial = 1;
    const Bh = this.bh1 ? hh : Math.expm1(hh);
    const R: number[][] = [];
    const b: number[] = [];
    for (let j = 1; j <= order; j++) {
      R.push(rks.map((r) => r ** (j - 1)));
      b.push((hPhiK * factorial) / Bh);
      factorial *= j + 1;
      hPhiK = hPhiK / hh - 1 / factorial;
    }
    return { R, b, hPhi1, Bh };
  }

  /** UniP-p: x_t = sigma_t/sigma_s0 x - alpha_t hphi1 m0 - alpha_t B(h) sum rho_k D1_k. */
  private predict(i: number, x: Float32Array, order: number): Latents {
    const t = vp(this.sigmas[i + 1]);
    const s0 = vp(this.sigmas[i]);
    const h = t.lambda - s0.lambda;
    const m0 = this.outputs[this.outputs.length - 1];
    const rks: number[] = [];
    const d1s: Latents[] = [];
    for (let k = 1; k < order; k++) {
      const rk = (vp(this.sigmas[i - k]).lambda - s0.lambda) / h;
      rks.push(rk);
      d1s.push(combine(1 / rk, this.outputs[this.outputs.length - 1 - k], -1 / rk, m0));
    }
    const { R, b, hPhi1, Bh } = this.system(h, [...rks, 1], order);
    const out = combine(t.sigma / s0.sigma, x, -t.alpha * hPhi1, m0);
    if (d1s.length > 0) {
      const rhos = order === 2 ? [0.5] : solve(R.slice(0, -1).map((r) => r.slice(0, -1)), b.slice(0, -1));
      d1s.forEach((d, k) => addScaled(out, -t.alpha * Bh * rhos[k], d));
    }
    return out;
  }

  /** UniC-p: recomputes this step's sample from x (the previous step's) with the new output mT included. */
  private correct(i: number, mT: Latents, x: Float32Array, order: number): Latents {
    const t = vp(this.sigmas[i]);
    const s0 = vp(this.sigmas[i - 1]);
    const h = t.lambda - s0.lambda;
    const m0 = this.outputs[this.outputs.length - 1];
    const rks: number[] = [];
    const d1s: Latents[] = [];
    for (let k = 1; k < order; k++) {
      const rk = (vp(this.sigmas[i - (k + 1)]).lambda - s0.lambda) / h;
      rks.push(rk);
      d1s.push(combine(1 / rk, this.outputs[this.outputs.length - 1 - k], -1 / rk, m0));
    }
    const { R, b, hPhi1, Bh } = this.system(h, [...rks, 1], order);
    const rhos = order === 1 ? [0.5] : solve(R, b);
    const out = combine(t.sigma / s0.sigma, x, -t.alpha * hPhi1, m0);
    d1s.forEach((d, k) => addScaled(out, -t.alpha * Bh * rhos[k], d));
    const rhoT = rhos[rhos.length - 1];
    for (let k = 0; k < out.length; k++) out[k] -= t.alpha * Bh * rhoT * (mT[k] - m0[k]);
    return out;
  }
}

function addScaled(x: Float32Array, c: number, y: Float32Array): void {
  for (let k = 0; k < x.length; k++) x[k] += c * y[k];
}

/** Solves A x = b (small dense system) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, r) => [...row, b[r]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}
