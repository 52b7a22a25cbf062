/**
 * Batched sampling for evaluation: many prompts in one UNet batch (the text-to-image pipeline takes
 * one prompt per request; evaluation needs a thousand images over a thousand prompts). Same stages
 * and the same shared pieces as the pipeline (openModel's sessions and checks, the scheduler factory,
 * classifier-free guidance), and per-image seeds, so runs are reproducible and batch size does not
 * change the images.
 */
import * as ort from 'onnxruntime-node';
import type { OpenModel } from '../model-sessions';
import { applyGuidance } from '../guidance';
import { floatTensor, readFloats } from '../tensors';
import { createScheduler, SeededRandom, type SchedulerName } from '../../schedulers/index';

export interface SampleOptions {
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  /** Image k of the call uses seed + k. */
  seed: number;
}

/** last_hidden_state for prompts: [n, L, D] flattened. */
export async function encodeText(model: OpenModel, prompts: string[]): Promise<{ data: Float32Array; seq: number; width: number }> {
  const ids = model.tokenizer.encode(prompts);
  const len = model.tokenizer.maxLength;
  const out = (await model.textEncoder.run({ input_ids: new ort.Tensor('int64', ids, [prompts.length, len]) })).last_hidden_state;
  return { data: readFloats(out), seq: out.dims[1], width: out.dims[2] };
}

/** Generate one image per prompt; returns images [n, 3, S, S] in [-1, 1] (clamped) and their side. */
export async function sampleImages(model: OpenModel, prompts: string[], o: SampleOptions): Promise<{ images: Float32Array; size: number }> {
  const n = prompts.length;
  const sig = model.unetSig;
  const [c, h, w] = [sig.latentChannels, ...(sig.latentSize ?? [model.folder.sampleSize ?? 8, model.folder.sampleSize ?? 8])];
  const per = c * h * w;
  const guided = sig.guidanceInput !== null;
  const useBatch = !guided && o.guidance > 1;
  const cond = await encodeText(model, prompts);
  const rowLen = cond.seq * cond.width;
  const ctx = new Float32Array((useBatch ? 2 : 1) * n * rowLen);
  if (useBatch) {
    const empty = await encodeText(model, ['']);
    for (let k = 0; k < n; k++) ctx.set(empty.data, k * rowLen);
    ctx.set(cond.data, n * rowLen);
  } else {
    ctx.set(cond.data);
  }
  const rows = useBatch ? 2 * n : n;
  const ctxTensor = floatTensor(sig.floatType, ctx, [rows, cond.seq, cond.width]);
  const scheduler = createScheduler(o.scheduler, model.folder.schedulerConfig);
  scheduler.setTimesteps(o.steps);
  let latents: Float32Array = new Float32Array(n * per);
  for (let k = 0; k < n; k++) latents.set(new SeededRandom((o.seed + k) ^ 0x5eed).fillNormal(new Float32Array(per)), k * per);
  latents = latents.map((x) => x * scheduler.initNoiseSigma);
  const rngs = Array.from({ length: n }, (_, k) => new SeededRandom(o.seed + k));
  const noise = { fillNormal(out: Float32Array) { rngs.forEach((r, k) => r.fillNormal(out.subarray(k * per, (k + 1) * per))); return out; } };
  for (let i = 0; i < scheduler.timesteps.length; i++) {
    const input = scheduler.scaleModelInput(latents, i);
    const sample = useBatch ? new Float32Array([...input, ...input]) : input;
    const feeds: Record<string, ort.Tensor> = {
      sample: floatTensor(sig.floatType, sample, [rows, c, h, w]),
      timestep: timestepTensor(model, scheduler.timesteps[i], rows),
      encoder_hidden_states: ctxTensor,
    };
    if (sig.guidanceInput) {
      const dims = shapeDims(sig.guidanceInput.shape, rows);
      feeds.guidance_scale = floatTensor(sig.guidanceInput.type, new Float32Array(dims[0] ?? 1).fill(o.guidance), dims);
    }
    const out = readFloats((await model.unet.run(feeds)).out_sample);
    latents = scheduler.step(useBatch ? applyGuidance(out, o.guidance) : out, i, latents, noise);
  }
  const scaled = latents.map((x) => x / model.folder.scalingFactor);
  const dec = (await model.vaeDecoder.run({ latent_sample: floatTensor(model.vaeDecoderFloat, scaled, [n, c, h, w]) })).sample;
  const images = readFloats(dec).map((x) => Math.max(-1, Math.min(1, x)));
  return { images, size: dec.dims[2] };
}

function shapeDims(shape: 'scalar' | 'one' | 'batch', rows: number): number[] {
  return shape === 'scalar' ? [] : shape === 'one' ? [1] : [rows];
}

/** The timestep in the UNet's declared type and shape (the embedded models: int64 [B]). */
function timestepTensor(model: OpenModel, t: number, rows: number): ort.Tensor {
  const { timestepType: type, timestepShape } = model.unetSig;
  const dims = shapeDims(timestepShape, rows);
  const len = dims[0] ?? 1;
  if (type === 'int64') return new ort.Tensor('int64', new BigInt64Array(len).fill(BigInt(Math.round(t))), dims);
  if (type === 'int32') return new ort.Tensor('int32', new Int32Array(len).fill(Math.round(t)), dims);
  return floatTensor(type, new Float32Array(len).fill(t), dims);
}
