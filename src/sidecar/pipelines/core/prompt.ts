/**
 * Prompt encoding: tokenize (io/tokenizer.ts pads and truncates to the encoder's length) and run the
 * text encoder, giving last_hidden_state [n, L, D] as float32 whatever the encoder's output dtype.
 */
import * as ort from 'onnxruntime-node';
import type { OpenModel } from '../model-sessions';
import { readFloats } from '../tensors';
import { timedRun, type OrtTimer } from './timed-run';

/** What encoding needs: an opened model, or a text encoder session opened on its own (distillation). */
export type TextEncoder = Pick<OpenModel, 'tokenizer' | 'textEncoder' | 'textIdsType'>;

/** Text embeddings: data [n * L * D] and dims [n, L, D]. */
export interface Embeddings {
  data: Float32Array;
  dims: number[];
}

/** last_hidden_state of `prompts`, in one text encoder run. */
export async function encodePrompts(enc: TextEncoder, prompts: readonly string[], timer?: OrtTimer): Promise<Embeddings> {
  const ids = enc.tokenizer.encode(prompts);
  const dims = [prompts.length, enc.tokenizer.maxLength];
  const input = enc.textIdsType === 'int64' ? new ort.Tensor('int64', ids, dims) : new ort.Tensor('int32', Int32Array.from(ids, Number), dims);
  const out = (await timedRun(enc.textEncoder, { input_ids: input }, timer)).last_hidden_state;
  return { data: readFloats(out), dims: [...out.dims] };
}

/** Row k of a batch of embeddings (a view, [L * D]). */
export function embeddingRow(e: Embeddings, k: number): Float32Array {
  const per = e.dims[1] * e.dims[2];
  return e.data.subarray(k * per, (k + 1) * per);
}
