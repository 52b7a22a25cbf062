// LoRA or every weight: a distillation of a Stable Diffusion-size teacher trains LoRA adapters unless
// asked otherwise; the embedded family trains every weight; a request's own rank (0 included) wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LORA_RANK, SMALL_MODEL_PARAMETERS, distillLoraRank } from '../../../src/sidecar/pipelines/core/model-size';
import { countWeights } from '../../../src/sidecar/graph';

test('by size when the request names no rank; the request wins when it does', () => {
  const sd15Unet = 859_520_964;
  assert.equal(distillLoraRank(undefined, sd15Unet), DEFAULT_LORA_RANK);
  assert.equal(distillLoraRank(0, sd15Unet), 0, 'every weight, asked for');
  assert.equal(distillLoraRank(16, sd15Unet), 16);
  assert.equal(distillLoraRank(undefined, SMALL_MODEL_PARAMETERS), 0);
  assert.equal(distillLoraRank(undefined, countWeights('models/emoji-base/unet/model.onnx')), 0, 'the embedded model trains whole');
});
