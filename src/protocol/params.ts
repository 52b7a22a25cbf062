/**
 * The parameters of the job kinds generate, edit and distill (the X/Y plot's, built on generate's, are in
 * xyplot.ts). Bounds are deliberately wide (what any model could accept) but finite, so NaN, Infinity and
 * absurd sizes are refused at the door with a message naming the field; pipelines check what depends on
 * the model (e.g. size vs latent).
 */
import { z } from 'zod';
import { findSampler, parseSampler, unknownSamplerMessage } from './samplers';

/** Finite number in [min, max]; NaN and Infinity are refused by z.number() itself. */
const num = (min: number, max: number) => z.number().min(min).max(max);
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** A path or id: non-empty, bounded, no NUL byte (which would truncate the path in native code). */
export const pathLike = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.includes('\0'), { message: 'must not contain a NUL character' });

/**
 * A sampler name as a client may send it (id, A1111 name or alias: src/protocol/samplers.ts), read as
 * its id, so the sidecar sees one spelling. Unknown names are refused with the list of ids.
 */
export const SamplerName = z
  .string()
  .max(100)
  .refine((s) => findSampler(s) !== undefined, { error: (issue) => unknownSamplerMessage(String(issue.input)) })
  .transform(parseSampler);

/** Text to image (classifier-free guidance). Sizes are pixels; the pipeline checks divisibility. */
export const GenerateParams = z.strictObject({
  /** Model folder (diffusers ONNX layout) or the id of a model listed by listModels. */
  model: pathLike,
  prompt: z.string().max(10_000),
  negativePrompt: z.string().max(10_000).optional(),
  width: int(8, 4096).optional(),
  height: int(8, 4096).optional(),
  steps: int(1, 1000).optional(),
  guidanceScale: num(0, 100).optional(),
  /** Seed of the first image; image i uses seed + i. */
  seed: int(0, 2 ** 32 - 1).optional(),
  /** Number of images. */
  count: int(1, 64).optional(),
  /** Images per UNet batch (default: all, at most 8). */
  batchSize: int(1, 64).optional(),
  /** Default: the model's own (model_index.json "defaults", distill.json), else GENERATION_DEFAULTS. */
  scheduler: SamplerName.optional(),
  /** Image-to-image: the starting picture, and how much of it to repaint (0 < strength <= 1). */
  initImage: pathLike.optional(),
  strength: num(0, 1).refine((x) => x > 0, { message: 'must be greater than 0' }).optional(),
  /** Folder the PNGs are written to (created if missing); existing files are never overwritten. */
  outputDir: pathLike.optional(),
  /** Send a small PNG preview with progress events every N steps (0 = never). */
  previewEvery: int(0, 1000).optional(),
});
export type GenerateParams = z.infer<typeof GenerateParams>;

/**
 * What a warm-up runs (the `warmup` request): a generate request's settings, without the job's own
 * prompt, seed, input image or output folder. A field left out is the model's own, as in a generate
 * request; the extension sends what its settings would put in the user's first request.
 */
export const WarmupParams = GenerateParams.pick({
  negativePrompt: true,
  width: true,
  height: true,
  steps: true,
  guidanceScale: true,
  count: true,
  batchSize: true,
  scheduler: true,
  previewEvery: true,
});
export type WarmupParams = z.infer<typeof WarmupParams>;

/** Imagic (Kawar et al., 2023): edit a real image towards a target text. */
export const EditParams = z.strictObject({
  model: pathLike,
  /** The input image (PNG, JPEG, WebP ...). */
  image: pathLike,
  /** The target text describing the edited image. */
  prompt: z.string().min(1).max(10_000),
  /** Interpolation weights e = eta * e_target + (1 - eta) * e_opt; one image per eta. */
  etas: z.array(num(0, 2)).min(1).max(32).optional(),
  /** Steps of stage 1 (optimise the text embedding) and stage 2 (fine-tune the model). */
  embeddingSteps: int(0, 100_000).optional(),
  finetuneSteps: int(0, 100_000).optional(),
  embeddingLearningRate: num(0, 1).optional(),
  finetuneLearningRate: num(0, 1).optional(),
  steps: int(1, 1000).optional(),
  guidanceScale: num(0, 100).optional(),
  seed: int(0, 2 ** 32 - 1).optional(),
  outputDir: pathLike.optional(),
  previewEvery: int(0, 1000).optional(),
});
export type EditParams = z.infer<typeof EditParams>;

/**
 * Distillation: 'progressive' (Salimans & Ho, 2022) halves the sampling steps each round;
 * 'guided' (Meng et al., 2023) first folds guidance into one evaluation with w as an input, then
 * distils progressively.
 */
export const DistillParams = z.strictObject({
  teacher: pathLike,
  /** Folder of the student model (diffusers layout); an existing run there is resumed. */
  outputDir: pathLike,
  method: z.enum(['progressive', 'guided']),
  teacherSteps: int(2, 4096).optional(),
  studentSteps: int(1, 4096).optional(),
  iterationsPerRound: int(1, 10_000_000).optional(),
  batchSize: int(1, 4096).optional(),
  learningRate: num(0, 1).optional(),
  /** Guided distillation: the range of guidance scales w the student learns. */
  guidanceRange: z.tuple([num(0, 100), num(0, 100)]).optional(),
  /** Prompts to distil on (default: the teacher's own caption set, if it has one). */
  prompts: z.array(z.string().max(10_000)).max(1_000_000).optional(),
  /** Guided, embedded-family teachers: a narrower student of this many channels (faster per step). */
  studentChannels: int(8, 4096).optional(),
  /** Train LoRA adapters of this rank; 0: every weight. Default: 4 above 50 M UNet weights (SD), else 0. */
  loraRank: int(0, 256).optional(),
  seed: int(0, 2 ** 32 - 1).optional(),
  resume: z.boolean().optional(),
  /** Sample images drawn by each finished phase's student (fixed prompts and seeds; 0 or absent: none). */
  samplesPerRound: int(0, 8).optional(),
});
export type DistillParams = z.infer<typeof DistillParams>;

