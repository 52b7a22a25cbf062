/**
 * Every ONNX Runtime run of the pipelines goes through here, so the time spent inside ONNX Runtime can
 * be reported beside wall time (text-to-image's `timings.ortMs`).
 */
import type * as ort from 'onnxruntime-node';

/** Milliseconds spent inside ONNX Runtime runs, summed. */
export interface OrtTimer {
  ortMs: number;
}

export async function timedRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, timer?: OrtTimer): Promise<ort.InferenceSession.ReturnType> {
  const t = performance.now();
  const out = await session.run(feeds);
  if (timer) timer.ortMs += performance.now() - t;
  return out;
}
