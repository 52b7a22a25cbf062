/**
 * What a generation request may say, and how missing settings are filled in: the request, else the
 * model's opinion (modelDefaults below), else the shared GENERATION_DEFAULTS of src/protocol/samplers.ts
 * (20 steps of DPM++ 2M at guidance 7.5, diffusers' usual Stable Diffusion settings).
 */
import { randomInt } from 'node:crypto';
import { GENERATION_DEFAULTS as DEFAULTS, parseSampler } from '../../protocol/samplers';
import type { EditDefaults, ModelFolder } from '../io/model-folder';
import { samplerForConfig, type SchedulerName } from '../schedulers/index';
import { seedsFit } from './core/latents';

export interface TextToImageRequest {
  /** A model folder path or the name of a discovered model (default: the default model, emoji-styles). */
  model?: string;
  prompt: string;
  negativePrompt?: string;
  /** Pixels; default: the UNet's native size. Must be a multiple of the VAE's scale factor. */
  width?: number;
  height?: number;
  steps?: number;
  /** Classifier-free guidance scale s; s <= 1 turns the unconditional batch off. */
  guidanceScale?: number;
  /** A sampler id, A1111 name or alias (src/protocol/samplers.ts), e.g. 'euler_a' or 'Euler a'. */
  scheduler?: string;
  /** Seed of the first image (image k uses seed + k); default: a random one, reported in the result. */
  seed?: number;
  /** Number of images. */
  count?: number;
  /** Images per UNet batch (default: all of them, at most 8). */
  batchSize?: number;
  /** Output folder (default ./outputs), or a file name ending in .png. */
  out?: string;
  /** Image-to-image: the starting picture, and how much of it to repaint (0 < strength <= 1, default 0.75). */
  initImage?: string;
  strength?: number;
  /** Decode a preview PNG every N steps (0 = never). */
  previewEvery?: number;
  /** Extra folders to look for named models in (--models-dir). */
  modelRoots?: string[];
}

/** The request with every setting decided. */
export interface ResolvedSettings {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerName;
  seed: number;
  count: number;
  batchSize: number;
  out: string;
  initImage: string | null;
  strength: number;
  previewEvery: number;
}

/** A scheduler name from the command line, a request or a model folder; throws a message listing the valid ids. */
export function parseSchedulerName(s: string): SchedulerName {
  return parseSampler(s);
}

export interface ModelDefaults {
  steps?: number;
  guidance_scale?: number;
  scheduler?: string;
  edit?: EditDefaults;
}

/**
 * Settings a model folder asks for. A plain model: its model_index.json "defaults". A distilled student:
 * its own "defaults", else what distill.json says it was distilled for (steps, scheduler; a guided
 * student's default guidance is its base's default clamped into guidance_range; a progressive student
 * has its teacher's guidance baked in, so it runs without the unconditional batch: guidance 1).
 */
export function modelDefaults(folder: ModelFolder): ModelDefaults {
  const own = (folder.indexDefaults ?? {}) as ModelDefaults;
  const base = folder.base ? modelDefaults(folder.base) : {};
  const d = folder.distill;
  if (!d) return { ...base, ...own };
  const fromDistill: ModelDefaults = {};
  if (typeof d.steps === 'number') fromDistill.steps = d.steps;
  if (typeof d.scheduler === 'string') fromDistill.scheduler = d.scheduler;
  if (Array.isArray(d.guidance_range)) {
    const [lo, hi] = d.guidance_range;
    fromDistill.guidance_scale = Math.min(Math.max(base.guidance_scale ?? DEFAULTS.guidanceScale, lo), hi);
  } else {
    fromDistill.guidance_scale = 1;
  }
  return { ...fromDistill, ...own };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

export function resolveSettings(
  req: TextToImageRequest,
  folder: ModelFolder,
  nativeSize: [number, number],
  vaeScale: number,
): ResolvedSettings {
  const d = modelDefaults(folder);
  const s: ResolvedSettings = {
    prompt: req.prompt,
    negativePrompt: req.negativePrompt ?? '',
    width: req.width ?? nativeSize[1],
    height: req.height ?? nativeSize[0],
    steps: req.steps ?? d.steps ?? DEFAULTS.steps,
    guidanceScale: req.guidanceScale ?? d.guidance_scale ?? DEFAULTS.guidanceScale,
    // The request, else the folder's defaults, else the model's own scheduler (scheduler_config.json's
    // _class_name; a class we lack is an error naming it), else ours.
    scheduler: parseSchedulerName(req.scheduler ?? d.scheduler ?? samplerForConfig(folder.schedulerConfig, folder.files.schedulerConfig) ?? DEFAULTS.scheduler),
    // A drawn seed leaves room for seed + k of every image of the request.
    seed: req.seed ?? randomInt(0, 2 ** 32 - Math.max(1, Math.min(req.count ?? DEFAULTS.count, 64)) + 1),
    count: req.count ?? DEFAULTS.count,
    batchSize: 0,
    out: req.out ?? 'outputs',
    initImage: req.initImage ?? null,
    strength: req.strength ?? DEFAULTS.strength,
    previewEvery: req.previewEvery ?? DEFAULTS.previewEvery,
  };
  s.batchSize = req.batchSize ?? Math.min(s.count, DEFAULTS.maxBatchSize);
  check(typeof s.prompt === 'string', 'the prompt must be text');
  check(Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 1000, `steps must be an integer from 1 to 1000, got ${s.steps}`);
  check(Number.isFinite(s.guidanceScale) && s.guidanceScale >= 0 && s.guidanceScale <= 100, `the guidance scale must be a number from 0 to 100, got ${s.guidanceScale}`);
  check(seedsFit(s.seed, s.count), `the seed must be an integer from 0 to 4294967295 (for every image of the batch), got ${s.seed}`);
  check(Number.isInteger(s.count) && s.count >= 1 && s.count <= 64, `the count must be an integer from 1 to 64, got ${s.count}`);
  check(Number.isInteger(s.batchSize) && s.batchSize >= 1, `the batch size must be a positive integer, got ${s.batchSize}`);
  check(Number.isInteger(s.previewEvery) && s.previewEvery >= 0, `previewEvery must be a non-negative integer, got ${s.previewEvery}`);
  check(s.strength > 0 && s.strength <= 1, `the strength must be in (0, 1], got ${s.strength}`);
  for (const [name, v] of [['width', s.width], ['height', s.height]] as const) {
    check(Number.isInteger(v) && v > 0 && v % vaeScale === 0 && v <= 4096, `the ${name} must be a multiple of ${vaeScale} (this model's VAE scale) up to 4096, got ${v}`);
  }
  return s;
}
