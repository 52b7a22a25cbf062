/**
 * How the generation settings the user may leave to the model (guidance scale, steps, scheduler) become
 * request fields. No vscode import: unit tests run it. Policy (docs/GENERATION.md): a setting left at
 * its default (null, or "auto" for the scheduler) is not sent, so the sidecar uses the model's own
 * (model_index.json "defaults", distill.json), else the shared GENERATION_DEFAULTS.
 */
import { GENERATION_DEFAULTS, findSampler, SAMPLERS, samplerLabel, unknownSamplerMessage, type GenerateParams, type WarmupParams } from '../protocol';
import type { GuidanceSettings } from '../../webview-ui/shared/messages';

/** The scheduler setting's value for "the model's own". */
export const MODEL_OWN_SAMPLER = 'auto';

/** The scheduler setting's choices, in the side panel's order: "the model's own", then the table. */
export const SCHEDULER_CHOICES: ReadonlyArray<{ value: string; label: string }> = [
  { value: MODEL_OWN_SAMPLER, label: `Model's own (else ${samplerLabel(GENERATION_DEFAULTS.scheduler)})` },
  ...SAMPLERS.map((s) => ({ value: s.id, label: s.label })),
];

type Chosen = Pick<GenerateParams, 'guidanceScale' | 'steps' | 'scheduler'>;

/**
 * The request fields the user chose. An older or A1111 spelling in settings.json is sent as its id; an
 * unknown one is an error naming the setting and the valid ids (better than silently another sampler).
 */
export function chosenSettings(s: Pick<GuidanceSettings, 'guidanceScale' | 'steps' | 'scheduler'>): Chosen {
  const out: Chosen = {};
  if (typeof s.guidanceScale === 'number') out.guidanceScale = s.guidanceScale;
  if (typeof s.steps === 'number') out.steps = s.steps;
  if (s.scheduler && s.scheduler !== MODEL_OWN_SAMPLER) {
    const row = findSampler(s.scheduler);
    if (!row) throw new Error(`diffusionStudio.scheduler: ${unknownSamplerMessage(s.scheduler)}`);
    out.scheduler = row.id;
  }
  return out;
}

/** Guidance, steps and scheduler an image was made with, from its parameters (PNG metadata: A1111's sampler name). */
export function madeWith(params: Record<string, unknown>): Chosen {
  const out: Chosen = {};
  if (typeof params.cfgScale === 'number') out.guidanceScale = params.cfgScale;
  if (typeof params.steps === 'number') out.steps = params.steps;
  const row = typeof params.sampler === 'string' ? findSampler(params.sampler) : undefined;
  if (row) out.scheduler = row.id;
  return out;
}

/** The settings a generate request's own fields come from (besides guidance, steps and scheduler). */
export interface RequestSettings extends Pick<GuidanceSettings, 'guidanceScale' | 'steps' | 'scheduler' | 'negativePrompt' | 'size'> {
  imageCount: number;
}

/**
 * A generate request's fields that the settings decide: all but the model, prompt, seed, output folder
 * and input image, `over` taking precedence. A distilled student (`distilledSteps`) samples with the
 * step count it was distilled for. The user's requests are made of these, and so is the warm-up the
 * extension asks for on connecting (sidecar.ts), so the warm-up runs what the first request will.
 */
export function requestSettings(s: RequestSettings, distilledSteps?: number, over: Partial<GenerateParams> = {}): WarmupParams {
  const chosen = chosenSettings(s);
  const steps = over.steps ?? distilledSteps ?? chosen.steps;
  const guidanceScale = over.guidanceScale ?? chosen.guidanceScale;
  const scheduler = over.scheduler ?? chosen.scheduler;
  const out: WarmupParams = {
    count: over.count ?? s.imageCount,
    previewEvery: Math.max(1, Math.round((steps ?? GENERATION_DEFAULTS.steps) / 10)),
  };
  if (steps !== undefined) out.steps = steps;
  if (guidanceScale !== undefined) out.guidanceScale = guidanceScale;
  if (scheduler !== undefined) out.scheduler = scheduler;
  const negative = over.negativePrompt ?? s.negativePrompt;
  if (negative) out.negativePrompt = negative;
  const size = over.width ?? (s.size > 0 ? s.size : undefined);
  if (size) {
    out.width = size;
    out.height = over.height ?? size;
  }
  return out;
}
