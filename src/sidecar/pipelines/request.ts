/**
 * What a generation request may say, and how missing settings are filled in. Defaults come from the
 * model when it has an opinion: model_index.json may hold a "defaults" object ({ steps, guidance_scale,
 * scheduler }), a distilled student's distill.json gives the steps and scheduler it was distilled for,
 * and the rest are ours (20 steps of DPM++ 2M at guidance 7.5, diffusers' usual SD settings).
 */
import { randomInt } from 'node:crypto';
import { readJsonObject, type ModelFolder } from '../io/model-folder';
import { isSchedulerName, SCHEDULER_NAMES, type SchedulerName } from '../schedulers/index';
import { join } from 'node:path';

export interface TextToImageRequest {
  /** A model folder path or the name of a discovered model (default: the embedded emoji-base). */
  model?: string;
  prompt: string;
  negativePrompt?: string;
  /** Pixels; default: the UNet's native size. Must be a multiple of the VAE's scale factor. */
  width?: number;
  height?: number;
  steps?: number;
  /** Classifier-free guidance scale s; s <= 1 turns the unconditional batch off. */
  guidanceScale?: number;
  /** 'ddpm' | 'ddim' | 'euler' | 'euler-a' | 'dpm++2m' | 'dpm++2m-karras' (protocol aliases accepted). */
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

const ALIASES: Record<string, SchedulerName> = {
  euler_a: 'euler-a',
  'euler-ancestral': 'euler-a',
  dpmpp_2m: 'dpm++2m',
  'dpm++': 'dpm++2m',
  dpmpp_2m_karras: 'dpm++2m-karras',
};

/** A scheduler name from the command line or the protocol; throws a message listing the valid names. */
export function parseSchedulerName(s: string): SchedulerName {
  const n = s.trim().toLowerCase();
  if (isSchedulerName(n)) return n;
  if (ALIASES[n]) return ALIASES[n];
  throw new RangeError(`unknown scheduler "${s}" (choose one of ${SCHEDULER_NAMES.join(', ')})`);
}

interface ModelDefaults {
  steps?: number;
  guidance_scale?: number;
  scheduler?: string;
}

function modelDefaults(folder: ModelFolder): ModelDefaults {
  const own = readJsonObject(join(folder.dir, 'model_index.json')).defaults as ModelDefaults | undefined;
  const inherited = folder.base ? modelDefaults(folder.base) : {};
  return { ...inherited, ...(own ?? {}) };
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
  const distill = folder.distill;
  const guidanceDefault = d.guidance_scale ?? (distill?.guidance_range ? Math.min(Math.max(7.5, distill.guidance_range[0]), distill.guidance_range[1]) : 7.5);
  const s: ResolvedSettings = {
    prompt: req.prompt,
    negativePrompt: req.negativePrompt ?? '',
    width: req.width ?? nativeSize[1],
    height: req.height ?? nativeSize[0],
    steps: req.steps ?? d.steps ?? distill?.steps ?? 20,
    guidanceScale: req.guidanceScale ?? guidanceDefault,
    scheduler: parseSchedulerName(req.scheduler ?? d.scheduler ?? distill?.scheduler ?? 'dpm++2m'),
    seed: req.seed ?? randomInt(0, 2 ** 32 - 1),
    count: req.count ?? 1,
    batchSize: 0,
    out: req.out ?? 'outputs',
    initImage: req.initImage ?? null,
    strength: req.strength ?? 0.75,
    previewEvery: req.previewEvery ?? 0,
  };
  s.batchSize = req.batchSize ?? Math.min(s.count, 8);
  check(typeof s.prompt === 'string', 'the prompt must be text');
  check(Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 1000, `steps must be an integer from 1 to 1000, got ${s.steps}`);
  check(Number.isFinite(s.guidanceScale) && s.guidanceScale >= 0 && s.guidanceScale <= 100, `the guidance scale must be a number from 0 to 100, got ${s.guidanceScale}`);
  check(Number.isInteger(s.seed) && s.seed >= 0 && s.seed + s.count - 1 <= 0xffffffff, `the seed must be an integer from 0 to 4294967295 (for every image of the batch), got ${s.seed}`);
  check(Number.isInteger(s.count) && s.count >= 1 && s.count <= 64, `the count must be an integer from 1 to 64, got ${s.count}`);
  check(Number.isInteger(s.batchSize) && s.batchSize >= 1, `the batch size must be a positive integer, got ${s.batchSize}`);
  check(Number.isInteger(s.previewEvery) && s.previewEvery >= 0, `previewEvery must be a non-negative integer, got ${s.previewEvery}`);
  check(s.strength > 0 && s.strength <= 1, `the strength must be in (0, 1], got ${s.strength}`);
  for (const [name, v] of [['width', s.width], ['height', s.height]] as const) {
    check(Number.isInteger(v) && v > 0 && v % vaeScale === 0 && v <= 4096, `the ${name} must be a multiple of ${vaeScale} (this model's VAE scale) up to 4096, got ${v}`);
  }
  return s;
}
