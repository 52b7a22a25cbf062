/**
 * A `diffusion-distill` task as written in tasks.json, checked in full before it runs: tasks.json is
 * typed by hand, and VS Code only hints at the schema. Bounds are the protocol's own (DistillParams),
 * so a definition that passes here is a request the sidecar accepts. No VS Code here: the unit tests
 * (and their fuzz) run it.
 */
import { z } from 'zod';
import { DistillParams } from '../../protocol';

const p = DistillParams.shape;

const DEFINITION = z.object({
  mode: p.method,
  teacher: z.string().trim().min(1, 'must name a model').max(4096),
  teacherSteps: p.teacherSteps,
  targetSteps: p.studentSteps,
  iterations: p.iterationsPerRound,
  outputFolder: z.string().min(1).max(4096).optional(),
  guidanceRange: p.guidanceRange.refine((r) => r === undefined || r[0] <= r[1], 'the first scale must not exceed the second'),
  studentChannels: p.studentChannels,
  loraRank: p.loraRank,
  samples: p.samplesPerRound,
});

export type DistillTaskFields = z.infer<typeof DEFINITION>;

/** Checks a definition from tasks.json; returns the problem in words (naming the field), or undefined when usable. */
export function checkDefinition(def: unknown): string | undefined {
  if (typeof def !== 'object' || def === null || Array.isArray(def)) return 'a task definition must be an object';
  const r = DEFINITION.safeParse(def);
  if (r.success) return undefined;
  const issue = r.error.issues[0];
  const field = String(issue.path[0] ?? 'definition');
  const value = (def as Record<string, unknown>)[field];
  if (value === undefined) return `"${field}": missing`;
  return `"${field}": ${issue.message} (got ${JSON.stringify(value)?.slice(0, 60)})`;
}
