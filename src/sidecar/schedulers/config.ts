/**
 * The scheduler configuration, read from a model folder's `scheduler/scheduler_config.json` (the
 * diffusers format). Every field is optional there; defaults are diffusers' defaults. Unknown keys
 * (`_class_name`, `skip_prk_steps`, ...) are kept out of the typed object and ignored.
 */
import { z } from 'zod';

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;

export type BetaSchedule = (typeof BETA_SCHEDULES)[number];
export type PredictionType = (typeof PREDICTION_TYPES)[number];
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

const schema = z.object({
  num_train_timesteps: z.number().int().positive().default(1000),
  beta_start: z.number().positive().default(0.0001),
  beta_end: z.number().positive().default(0.02),
  beta_schedule: z.enum(BETA_SCHEDULES).default('linear'),
  prediction_type: z.enum(PREDICTION_TYPES).default('epsilon'),
  /** Null means "the scheduler's own default" (leading for DDPM/DDIM, linspace for the sigma samplers). */
  timestep_spacing: z.enum(TIMESTEP_SPACINGS).nullable().default(null),
  steps_offset: z.number().int().nonnegative().default(0),
  clip_sample: z.boolean().default(false),
  clip_sample_range: z.number().positive().default(1),
  set_alpha_to_one: z.boolean().default(true),
  use_karras_sigmas: z.boolean().default(false),
  rescale_betas_zero_snr: z.boolean().default(false),
});

export type SchedulerConfig = z.infer<typeof schema>;

/** Parses a scheduler_config.json object; `source` names the file in the error message. */
export function parseSchedulerConfig(raw: unknown, source = 'scheduler_config.json'): SchedulerConfig {
  const input = typeof raw === 'object' && raw !== null ? stripNulls(raw as Record<string, unknown>) : raw;
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/** diffusers writes `null` for "not set"; treat it as absent so the default applies. */
function stripNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}

export function defaultSchedulerConfig(overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return { ...parseSchedulerConfig({}), ...overrides };
}
