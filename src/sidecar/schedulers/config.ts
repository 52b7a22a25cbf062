/**
 * The scheduler configuration, read from a model folder's `scheduler/scheduler_config.json` (the
 * diffusers format). Every field is optional there. Defaults are diffusers' defaults; where a diffusers
 * class has its own default (clip_sample: true for DDIM/DDPM, false for Heun/LCM; set_alpha_to_one: false
 * for PNDM; timestep_spacing: leading for DDIM/DDPM/PNDM/LCM, linspace for the rest) the field is null
 * here and the scheduler class applies its own (`classDefault`).
 *
 * Keys that change the maths and are not implemented (thresholding, exponential/beta/Lu sigmas, flow
 * sigmas, learned variance ...) are kept and refused by the scheduler that would read them
 * (`refuseUnsupported`), never silently dropped. `_class_name` names the model's own scheduler (see
 * samplerForClass). Keys nobody reads are listed in `ignored_keys` (docs/GENERATION.md names the harmless ones).
 */
import { z } from 'zod';

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;

export type BetaSchedule = (typeof BETA_SCHEDULES)[number];
export type PredictionType = (typeof PREDICTION_TYPES)[number];
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

const schema = z.object({
  _class_name: z.string().nullable().default(null),
  num_train_timesteps: z.number().int().positive().default(1000),
  beta_start: z.number().positive().default(0.0001),
  beta_end: z.number().positive().default(0.02),
  beta_schedule: z.enum(BETA_SCHEDULES).default('linear'),
  /** A model's own betas, one per training timestep; replaces beta_schedule (diffusers' rule). */
  trained_betas: z.array(z.number().positive().lt(1)).nullable().default(null),
  prediction_type: z.enum(PREDICTION_TYPES).default('epsilon'),
  /** Null means "the scheduler class's own default" (leading for DDPM/DDIM/PNDM/LCM, linspace for the rest). */
  timestep_spacing: z.enum(TIMESTEP_SPACINGS).nullable().default(null),
  steps_offset: z.number().int().nonnegative().default(0),
  /** Null: the class's default (true for DDIM and DDPM, false for Heun and LCM). */
  clip_sample: z.boolean().nullable().default(null),
  clip_sample_range: z.number().positive().default(1),
  /** Null: the class's default (true for DDIM and LCM, false for PNDM). */
  set_alpha_to_one: z.boolean().nullable().default(null),
  use_karras_sigmas: z.boolean().default(false),
  rescale_betas_zero_snr: z.boolean().default(false),
  /** The last sigma of the sigma/solver samplers: 0, or the smallest training sigma. */
  final_sigmas_type: z.enum(['zero', 'sigma_min']).default('zero'),
  /** Karras sigma range (Euler, UniPC); null = the schedule's own ends. */
  sigma_min: z.number().positive().nullable().default(null),
  sigma_max: z.number().positive().nullable().default(null),
  /** Euler: "continuous" feeds the UNet 0.25 log(sigma) (v-prediction EDM-style models). */
  timestep_type: z.enum(['discrete', 'continuous']).default('discrete'),
  /** DPM-Solver: dpmsolver++ (2M) or sde-dpmsolver++ (2M SDE); "deis" means dpmsolver++ (as diffusers). */
  algorithm_type: z.string().nullable().default(null),
  solver_order: z.number().int().positive().nullable().default(null),
  /** DPM-Solver: midpoint | heun; UniPC: bh1 | bh2. */
  solver_type: z.string().nullable().default(null),
  lower_order_final: z.boolean().default(true),
  euler_at_final: z.boolean().default(false),
  disable_corrector: z.array(z.number().int()).default([]),
  /**
   * PNDM: true = PLMS only (SD 1.x's configs). Null (unset): also PLMS, the sampler the user picked by that
   * name; diffusers' class default would be false, the Runge-Kutta warm-up, which is not implemented and
   * is refused when a config asks for it explicitly.
   */
  skip_prk_steps: z.boolean().nullable().default(null),
  variance_type: z.string().nullable().default(null),
  original_inference_steps: z.number().int().positive().default(50),
  timestep_scaling: z.number().positive().default(10),
  // Keys refused when set to anything but these (not implemented; they change the maths).
  thresholding: z.boolean().default(false),
  use_exponential_sigmas: z.boolean().default(false),
  use_beta_sigmas: z.boolean().default(false),
  use_lu_lambdas: z.boolean().default(false),
  use_flow_sigmas: z.boolean().default(false),
  use_dynamic_shifting: z.boolean().default(false),
  interpolation_type: z.string().default('linear'),
  lambda_min_clipped: z.number().nullable().default(null),
  predict_x0: z.boolean().default(true),
  solver_p: z.unknown().nullable().default(null),
});

export type SchedulerConfig = z.infer<typeof schema> & {
  /** Keys of the file that no scheduler here reads (harmless ones are listed in docs/GENERATION.md). */
  ignored_keys?: readonly string[];
};

/** Keys written by diffusers that only matter together with an option refused above, or are metadata. */
const HARMLESS = new Set(['_diffusers_version', 'dynamic_thresholding_ratio', 'sample_max_value', 'flow_shift', 'time_shift_type', 'shift_terminal', 'use_dynamic_shifting', 'timestep_values', 'sigma_data', 's_noise']);

/** Parses a scheduler_config.json object; `source` names the file in the error message. */
export function parseSchedulerConfig(raw: unknown, source = 'scheduler_config.json'): SchedulerConfig {
  const input = typeof raw === 'object' && raw !== null ? stripNulls(raw as Record<string, unknown>) : raw;
  const r = schema.safeParse(withClassBetas(input));
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const known = new Set(Object.keys(schema.shape));
  const ignored = Object.keys(input as object).filter((k) => !known.has(k) && !HARMLESS.has(k));
  const config: SchedulerConfig = r.data;
  if (ignored.length > 0) config.ignored_keys = ignored;
  if (config.trained_betas && config.trained_betas.length !== config.num_train_timesteps) {
    throw new Error(`${source}: trained_betas has ${config.trained_betas.length} values for num_train_timesteps ${config.num_train_timesteps}`);
  }
  return config;
}

/**
 * The noise schedule a class assumes when its config leaves it out: most of diffusers' classes default
 * to linear 0.0001..0.02, Heun, LCM and TCD to 0.00085..0.012 (LCM and TCD scaled_linear), so a Heun or
 * LCM config without beta keys is read as its own class would read it (scheduling_heun_discrete.py,
 * scheduling_lcm.py). Keys the file sets always win.
 */
const CLASS_BETAS: Record<string, { beta_start: number; beta_end: number; beta_schedule: string }> = {
  HeunDiscreteScheduler: { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'linear' },
  LCMScheduler: { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' },
  TCDScheduler: { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' },
};

function withClassBetas(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const o = input as Record<string, unknown>;
  const betas = typeof o._class_name === 'string' ? CLASS_BETAS[o._class_name] : undefined;
  return betas ? { ...betas, ...o } : o;
}

/** diffusers writes `null` for "not set"; treat it as absent so the default applies. */
function stripNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}

export function defaultSchedulerConfig(overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return { ...parseSchedulerConfig({}), ...overrides };
}

/** A config field, or the scheduler class's own default where the file did not set it. */
export function classDefault<T>(value: T | null, fallback: T): T {
  return value ?? fallback;
}

/** Option values this project does not implement, per key: what diffusers would do differently. */
const UNSUPPORTED: Partial<Record<keyof SchedulerConfig, (c: SchedulerConfig) => string | null>> = {
  thresholding: (c) => (c.thresholding ? 'thresholding: true (dynamic thresholding, Saharia et al. 2022)' : null),
  use_exponential_sigmas: (c) => (c.use_exponential_sigmas ? 'use_exponential_sigmas: true' : null),
  use_beta_sigmas: (c) => (c.use_beta_sigmas ? 'use_beta_sigmas: true' : null),
  use_lu_lambdas: (c) => (c.use_lu_lambdas ? 'use_lu_lambdas: true' : null),
  use_flow_sigmas: (c) => (c.use_flow_sigmas ? 'use_flow_sigmas: true (flow matching)' : null),
  interpolation_type: (c) => (c.interpolation_type !== 'linear' ? `interpolation_type: "${c.interpolation_type}"` : null),
  lambda_min_clipped: (c) => (c.lambda_min_clipped !== null && Number.isFinite(c.lambda_min_clipped) ? `lambda_min_clipped: ${c.lambda_min_clipped}` : null),
  predict_x0: (c) => (!c.predict_x0 ? 'predict_x0: false' : null),
  solver_p: (c) => (c.solver_p !== null ? 'solver_p' : null),
  rescale_betas_zero_snr: (c) => (c.rescale_betas_zero_snr ? 'rescale_betas_zero_snr: true (diffusers\' class for this sampler has no zero-SNR schedule either)' : null),
  skip_prk_steps: (c) => (c.skip_prk_steps === false ? 'skip_prk_steps: false (the Runge-Kutta warm-up of PNDM; SD 1.x configs set true)' : null),
};

/**
 * A scheduler_config.json this project cannot run as written: an option a scheduler reads but does not
 * implement, or (index.ts) a scheduler class it lacks. The message says what and what to do instead.
 */
export class SchedulerConfigError extends Error {
  override readonly name: string = 'SchedulerConfigError';
}

/** Throws if any of `keys` (the options scheduler `who` reads) is set to something not implemented. */
export function refuseUnsupported(config: SchedulerConfig, who: string, keys: readonly (keyof SchedulerConfig)[]): void {
  for (const k of keys) {
    const what = UNSUPPORTED[k]?.(config);
    if (what) throw new SchedulerConfigError(`scheduler_config.json: ${what} is not implemented by the ${who} scheduler here; remove it or pick another sampler`);
  }
}
