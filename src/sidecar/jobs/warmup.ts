/**
 * Warming a model up before its first request (the `warmup` request, `serve --preload`). The first
 * image of a model pays for creating its ONNX Runtime sessions, ONNX Runtime's first run of each at the
 * request's shapes, reading its tokenizer, and V8 compiling the JavaScript a request runs: request
 * validation, the queue, the worker's messages, the denoising loop at the request's step count, staging,
 * publishing, the events. So the warm-up is that request, sent through that path (server.ts `warmup`):
 * a generate job with the settings the first request will have, into a private temporary folder removed
 * afterwards. A small model's request runs WARMUP_RUNS times: on a quiet machine the 4-step student's
 * first request after one run still cost 2.1-2.4x a warm one (ONNX Runtime, the arithmetic and the job
 * path all slower), after three 1.3-1.6x (BENCHMARKS.md, "The cold first image"). An earlier comparison
 * of four runs against one, on a machine at load 4-5, had shown no gain; the load hid it.
 */
import { join } from 'node:path';
import type { GenerateParams, WarmupParams } from '../../protocol';
import { componentBytes } from '../io/model-file';
import { SMALL_MODEL_PARAMETERS } from '../pipelines/core/model-size';

/** A prompt with real words (the tokenizer's merges run as for a user's prompt). */
export const WARMUP_PROMPT = 'a warm-up image of a smiling cat face';

/**
 * A large UNet (model-size.ts: over SMALL_MODEL_PARAMETERS weights; Stable Diffusion's is 860 M, 3.4 GB)
 * takes seconds per step on a CPU: compiling the loop is noise beside that, and a whole image at the
 * user's settings would be minutes of background work. Such a model's warm-up runs LARGE_WARMUP_STEPS
 * steps: the sessions, their first runs at the request's shapes and the job path, which is what its
 * first image would otherwise wait for. The size is read from the files (4 bytes a weight: an fp16
 * export counts as half its weights, still far above the line), not by parsing the graph.
 */
export const LARGE_UNET_BYTES = SMALL_MODEL_PARAMETERS * 4;
export const LARGE_WARMUP_STEPS = 2;

/** How often a small model's warm-up request runs (a few ms each for the embedded students). */
export const WARMUP_RUNS = 3;

/** Runs of the warm-up request: WARMUP_RUNS for a small model, one for a large one (each is minutes). */
export function warmupRuns(unetBytes: number): number {
  return unetBytes > LARGE_UNET_BYTES ? 1 : WARMUP_RUNS;
}

/** The UNet's bytes of the model folder `model` (its graph and weights files). */
export function unetBytesOf(model: string): number {
  return componentBytes(join(model, 'unet', 'model.onnx'));
}

/** The generate request a warm-up of the model folder `model` sends, writing into `outputDir`. */
export function warmupRequest(model: string, params: WarmupParams, outputDir: string, unetBytes = unetBytesOf(model)): GenerateParams {
  const steps = unetBytes > LARGE_UNET_BYTES ? Math.min(params.steps ?? LARGE_WARMUP_STEPS, LARGE_WARMUP_STEPS) : params.steps;
  return { ...params, ...(steps !== undefined ? { steps } : {}), model, prompt: WARMUP_PROMPT, seed: 0, outputDir };
}
