/**
 * Warming a model up before its first request (the `warmup` request, `serve --preload`). The first
 * image of a model pays for creating its ONNX Runtime sessions, ONNX Runtime's first run of each at the
 * request's shapes, reading its tokenizer, and V8 compiling the JavaScript a request runs: request
 * validation, the queue, the worker's messages, the denoising loop at the request's step count, staging,
 * publishing, the events. So the warm-up is that request, sent through that path (server.ts `warmup`):
 * a generate job with the settings the first request will have, into a private temporary folder removed
 * afterwards. Run once: four runs of a short request were tried (V8 optimises a function only after many
 * calls) and made the first real request no faster in a same-run comparison (issue 20, BENCHMARKS.md),
 * while the teacher's warm-up took half as long again.
 */
import type { GenerateParams, WarmupParams } from '../../protocol';

/** A prompt with real words (the tokenizer's merges run as for a user's prompt). */
export const WARMUP_PROMPT = 'a warm-up image of a smiling cat face';

/** The generate request a warm-up of the model folder `model` sends, writing into `outputDir`. */
export function warmupRequest(model: string, params: WarmupParams, outputDir: string): GenerateParams {
  return { ...params, model, prompt: WARMUP_PROMPT, seed: 0, outputDir };
}
