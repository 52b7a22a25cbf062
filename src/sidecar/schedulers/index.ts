/**
 * Scheduler factory: one sampler id (src/protocol/samplers.ts), one object with the Scheduler interface.
 * Adding a sampler = one row in the protocol's SAMPLERS table + one class implementing Scheduler + one
 * line in FACTORIES (a Record over every id, so the compiler names a row without a class).
 */
import { SchedulerConfigError, type SchedulerConfig } from './config';
import { DdimScheduler, DdpmScheduler } from './ddim';
import { LcmScheduler } from './lcm';
import { PndmScheduler } from './pndm';
import { EulerAncestralScheduler, EulerScheduler, HeunScheduler, LmsScheduler } from './sigma-schedulers';
import { DpmSolverMultistepScheduler, UniPcScheduler } from './solvers';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './types';

export * from './types';
export * from './config';
export { SeededRandom } from './rng';

const FACTORIES: Record<SchedulerName, (config: SchedulerConfig) => Scheduler> = {
  ddim: (c) => new DdimScheduler(c),
  ddpm: (c) => new DdpmScheduler(c),
  pndm: (c) => new PndmScheduler(c),
  euler: (c) => new EulerScheduler(c),
  euler_karras: (c) => new EulerScheduler(c, true),
  euler_a: (c) => new EulerAncestralScheduler(c),
  lms: (c) => new LmsScheduler(c),
  heun: (c) => new HeunScheduler(c),
  dpmpp_2m: (c) => new DpmSolverMultistepScheduler(c),
  dpmpp_2m_karras: (c) => new DpmSolverMultistepScheduler(c, { karras: true }),
  dpmpp_2m_sde: (c) => new DpmSolverMultistepScheduler(c, { sde: true }),
  unipc: (c) => new UniPcScheduler(c),
  lcm: (c) => new LcmScheduler(c),
};

/** True for a sampler id (not an alias: parse names with the protocol's parseSampler first). */
export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(s);
}

export function createScheduler(name: SchedulerName, config: SchedulerConfig): Scheduler {
  return FACTORIES[name](config);
}

/**
 * diffusers scheduler classes (`_class_name` of scheduler_config.json) -> the sampler that runs the same
 * maths here. The options inside the config (use_karras_sigmas, algorithm_type ...) are honoured by the
 * class itself, so one id per class is enough.
 */
export const DIFFUSERS_CLASSES: Readonly<Record<string, SchedulerName>> = {
  DDIMScheduler: 'ddim',
  DDPMScheduler: 'ddpm',
  PNDMScheduler: 'pndm',
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler_a',
  LMSDiscreteScheduler: 'lms',
  HeunDiscreteScheduler: 'heun',
  DPMSolverMultistepScheduler: 'dpmpp_2m',
  UniPCMultistepScheduler: 'unipc',
  LCMScheduler: 'lcm',
};

/** A model's scheduler class this project does not have (the message names the class and the choices). */
export class UnknownSchedulerClassError extends SchedulerConfigError {
  override readonly name = 'UnknownSchedulerClassError';
}

/**
 * The sampler a model's own scheduler_config.json names (`_class_name`), or null when it names none.
 * A class without an implementation here is an error naming it: never a silent substitution.
 */
export function samplerForConfig(config: SchedulerConfig, source = 'scheduler_config.json'): SchedulerName | null {
  const cls = config._class_name;
  if (cls === null) return null;
  const id = DIFFUSERS_CLASSES[cls];
  if (!id) {
    throw new UnknownSchedulerClassError(
      `${source}: the model's scheduler ${cls} is not implemented here (known: ${Object.keys(DIFFUSERS_CLASSES).join(', ')}); choose a sampler explicitly (--scheduler / "scheduler") to run it with another one`,
    );
  }
  return id;
}
