/**
 * Scheduler factory: one name on the command line, one object with the Scheduler interface.
 * Adding a sampler = one class implementing Scheduler + one line here.
 */
import type { SchedulerConfig } from './config';
import { DdimScheduler, DdpmScheduler } from './ddim';
import { DpmSolverMultistepScheduler, EulerAncestralScheduler, EulerScheduler } from './sigma-schedulers';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './types';

export * from './types';
export * from './config';
export { SeededRandom } from './rng';

export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(s);
}

export function createScheduler(name: SchedulerName, config: SchedulerConfig): Scheduler {
  switch (name) {
    case 'ddpm':
      return new DdpmScheduler(config);
    case 'ddim':
      return new DdimScheduler(config);
    case 'euler':
      return new EulerScheduler(config);
    case 'euler-a':
      return new EulerAncestralScheduler(config);
    case 'dpm++2m':
      return new DpmSolverMultistepScheduler(config, false);
    case 'dpm++2m-karras':
      return new DpmSolverMultistepScheduler(config, true);
  }
}
