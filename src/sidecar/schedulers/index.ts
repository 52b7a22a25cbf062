/**
 * Scheduler factory: one sampler id (src/protocol/samplers.ts), one object with the Scheduler interface.
 * Adding a sampler = one row in the protocol's SAMPLERS table + one class implementing Scheduler + one
 * line in FACTORIES (a Record over every id, so the compiler names a row without a class).
 */
import type { SchedulerConfig } from './config';
import { DdimScheduler, DdpmScheduler } from './ddim';
import { DpmSolverMultistepScheduler, EulerAncestralScheduler, EulerScheduler } from './sigma-schedulers';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './types';

export * from './types';
export * from './config';
export { SeededRandom } from './rng';

const FACTORIES: Record<SchedulerName, (config: SchedulerConfig) => Scheduler> = {
  ddim: (c) => new DdimScheduler(c),
  ddpm: (c) => new DdpmScheduler(c),
  euler: (c) => new EulerScheduler(c),
  euler_a: (c) => new EulerAncestralScheduler(c),
  dpmpp_2m: (c) => new DpmSolverMultistepScheduler(c, false),
  dpmpp_2m_karras: (c) => new DpmSolverMultistepScheduler(c, true),
};

/** True for a sampler id (not an alias: parse names with the protocol's parseSampler first). */
export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(s);
}

export function createScheduler(name: SchedulerName, config: SchedulerConfig): Scheduler {
  return FACTORIES[name](config);
}
