/**
 * Warming a model up before its first request (the `warmup` request, `serve --preload`). The first
 * image of a model pays for creating its ONNX Runtime sessions, ONNX Runtime's first run of each at the
 * request's shapes, reading its tokenizer, and V8 compiling the JavaScript a request runs: request
 * validation, the queue, the worker's messages, the denoising loop at the request's step count, staging,
 * publishing, the events. So the warm-up is that request, sent through that path (server.ts `warmup`):
 * a generate job with the settings the first request will have, into a private temporary folder removed
 * afterwards. One run leaves the per-request code barely compiled (V8 optimises a function after many
 * calls), which costs a short request more than its own time; so a short request is run a few times.
 */
import type { GenerateParams, JobOutput, WarmupParams } from '../../protocol';

/** A prompt with real words (the tokenizer's merges run as for a user's prompt). */
export const WARMUP_PROMPT = 'a warm-up image of a smiling cat face';

/** At most this many warm-up requests (issue 20: a 4-step student's first image came closest to a warm one after 4). */
export const WARMUP_RUNS = 4;

/**
 * Another run only while a run (less opening the sessions) took less than this: compiling costs the
 * first requests a few to a few tens of milliseconds, which matters to a request that short and not to
 * one of seconds (a large model, where one run of the real settings is what the warm-up is for).
 */
export const WARMUP_REPEAT_BELOW_MS = 250;

/** The generate request a warm-up of the model folder `model` sends, writing into `outputDir`. */
export function warmupRequest(model: string, params: WarmupParams, outputDir: string): GenerateParams {
  return { ...params, model, prompt: WARMUP_PROMPT, seed: 0, outputDir };
}

/** Whether a warm-up that has run `runs` requests, the last with `last`'s timings, runs another. */
export function warmAgain(runs: number, last: JobOutput): boolean {
  const t = last.timings;
  const ms = (t?.serverMs ?? Infinity) - (t?.loadMs ?? 0);
  return runs < WARMUP_RUNS && ms < WARMUP_REPEAT_BELOW_MS;
}
