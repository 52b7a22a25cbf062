/**
 * What an Imagic edit asks for, and the defaults scaled to the model (docs/IMAGIC.md explains the
 * numbers). Small UNets (the embedded family, under SMALL_MODEL_PARAMETERS weights) fine-tune every
 * weight; larger ones train LoRA adapters (the reference implementations fine-tune all of Stable
 * Diffusion's 860M weights, which needs a large GPU).
 */
import { DEFAULT_LORA_RANK, SMALL_MODEL_PARAMETERS } from '../core/model-size';
import type { EditDefaults } from '../../io/model-folder';

export interface ImagicRequest {
  /** Model folder or name (default: the default model, emoji-styles). */
  model?: string;
  modelRoots?: string[];
  /** The input picture (PNG, JPEG, WebP ...); only ever read. */
  image: string;
  /** The target text: what the edited picture should show. */
  prompt: string;
  /** One output per eta (default [0.7]); see SWEEP_ETAS. */
  etas?: number[];
  embeddingSteps?: number;
  embeddingLearningRate?: number;
  finetuneSteps?: number;
  finetuneLearningRate?: number;
  /** Noise draws per optimisation step (default: 4 on small models, 1 on large ones). */
  trainBatch?: number;
  /** 'auto' (by parameter count), 'full' or 'lora'. */
  tune?: 'auto' | 'full' | 'lora';
  loraRank?: number;
  /** Seed of the training noise (part of the cache key; the sampling seed is not). */
  trainSeed?: number;
  steps?: number;
  guidanceScale?: number;
  scheduler?: string;
  /** Sampling seed (default random, reported). */
  seed?: number;
  /** Output folder (default ./outputs). */
  out?: string;
  /** Also write a contact sheet [input | eta_1 | eta_2 ...] (default: when more than one eta). */
  contactSheet?: boolean;
  /** Sampling previews every N steps (0 = never). */
  previewEvery?: number;
  /** Cache folder (default: see cache.ts); `cache: false` trains from scratch and stores nothing. */
  cacheDir?: string;
  cache?: boolean;
}

/** The sweep `--sweep` produces (Kawar et al. show eta in [0, 1.2]; beyond 1 extrapolates past the target). */
export const SWEEP_ETAS = [0, 0.2, 0.4, 0.6, 0.8, 1, 1.2];
export const DEFAULT_ETA = 0.7;

export interface TrainSettings {
  embeddingSteps: number;
  embeddingLearningRate: number;
  finetuneSteps: number;
  finetuneLearningRate: number;
  trainBatch: number;
  tune: 'full' | 'lora';
  loraRank: number;
  trainSeed: number;
}

/**
 * Defaults per model size, under what the model folder asks for (`model`: model_index.json
 * "defaults"."edit", checked by editDefaults), under what the request says. Small: measured on the embedded model (docs/IMAGIC.md, "Choosing the
 * defaults"). Large: the reference implementations' 500 embedding steps at 1e-3, and 1000 fine-tuning
 * steps, with LoRA's usual 1e-4 instead of full fine-tuning's 2e-6.
 */
export function trainSettings(req: ImagicRequest, unetParameters: number, model: EditDefaults = {}): TrainSettings {
  const small = unetParameters <= SMALL_MODEL_PARAMETERS;
  const tune = req.tune && req.tune !== 'auto' ? req.tune : small ? 'full' : 'lora';
  const s: TrainSettings = {
    embeddingSteps: req.embeddingSteps ?? model.embedding_steps ?? (small ? 150 : 500),
    embeddingLearningRate: req.embeddingLearningRate ?? (small ? 2e-2 : 1e-3),
    finetuneSteps: req.finetuneSteps ?? model.finetune_steps ?? (small ? 150 : 1000),
    finetuneLearningRate: req.finetuneLearningRate ?? (tune === 'full' ? (small ? 2e-4 : 2e-6) : 1e-4),
    trainBatch: req.trainBatch ?? model.train_batch ?? (small ? 4 : 1),
    tune,
    loraRank: req.loraRank ?? DEFAULT_LORA_RANK,
    trainSeed: req.trainSeed ?? 0,
  };
  check(Number.isInteger(s.embeddingSteps) && s.embeddingSteps >= 0 && s.embeddingSteps <= 100_000, `embedding steps must be an integer from 0 to 100000, got ${s.embeddingSteps}`);
  check(Number.isInteger(s.finetuneSteps) && s.finetuneSteps >= 0 && s.finetuneSteps <= 100_000, `fine-tune steps must be an integer from 0 to 100000, got ${s.finetuneSteps}`);
  for (const [name, v] of [['embedding', s.embeddingLearningRate], ['fine-tune', s.finetuneLearningRate]] as const) {
    check(Number.isFinite(v) && v > 0 && v <= 1, `the ${name} learning rate must be in (0, 1], got ${v}`);
  }
  check(Number.isInteger(s.trainBatch) && s.trainBatch >= 1 && s.trainBatch <= 64, `the training batch must be an integer from 1 to 64, got ${s.trainBatch}`);
  check(Number.isInteger(s.loraRank) && s.loraRank >= 1 && s.loraRank <= 256, `the LoRA rank must be an integer from 1 to 256, got ${s.loraRank}`);
  return s;
}

/**
 * Guidance for sampling an edit when the request gives none. Small models: 2, measured on emoji-base
 * (docs/IMAGIC.md): the same edit strength at eta = 1 as the model's own 3, with a closer eta = 0
 * reconstruction (17.5 vs 15.7 dB). Large models: the model's default (Stable Diffusion's 7.5, as in
 * the paper).
 */
export function defaultEditGuidance(unetParameters: number): number | undefined {
  return unetParameters <= SMALL_MODEL_PARAMETERS ? 2 : undefined;
}

/** Each edit default: name, whether it must be an integer, and its range (a request's own bounds). */
const EDIT_FIELDS: ReadonlyArray<readonly [keyof EditDefaults, boolean, number, number]> = [
  ['guidance_scale', false, 1, 30],
  ['embedding_steps', true, 0, 100_000],
  ['finetune_steps', true, 0, 100_000],
  ['train_batch', true, 1, 64],
];

/**
 * A model folder's edit defaults (model_index.json "defaults"."edit": guidance_scale, embedding_steps,
 * finetune_steps, train_batch), each checked; a bad one is refused naming the file, the field and the value.
 */
export function editDefaults(edit: unknown, file: string): EditDefaults {
  if (edit === undefined) return {};
  const where = `${file}: "defaults"."edit"`;
  if (typeof edit !== 'object' || edit === null || Array.isArray(edit)) throw new RangeError(`${where} must be an object, got ${JSON.stringify(edit)}`);
  const e = edit as Record<string, unknown>;
  const out: EditDefaults = {};
  for (const [key, integer, lo, hi] of EDIT_FIELDS) {
    const v = e[key];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && (integer ? Number.isInteger(v) : Number.isFinite(v)) && v >= lo && v <= hi;
    check(ok, `${where}.${key} must be ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    out[key] = v as number;
  }
  return out;
}

export function checkEtas(etas: number[]): number[] {
  check(etas.length >= 1 && etas.length <= 32, `give 1 to 32 eta values, got ${etas.length}`);
  for (const e of etas) check(Number.isFinite(e) && e >= 0 && e <= 2, `eta must be a number from 0 to 2, got ${e}`);
  return etas;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}
