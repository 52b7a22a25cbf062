/**
 * One training step of the engine, for the GPU-vs-CPU figure: the small SD 1.5-architecture UNet
 * (src/sidecar/nn/sd15-unet.ts, small()), the noise-prediction loss MSE(eps_theta(x_t, t, c), eps)
 * (Ho et al., 2020, eq. 14), reverse-mode gradients from the graph engine (src/sidecar/graph/autodiff.ts)
 * and an SGD update, all in one ONNX graph run by onnxruntime-node on the chosen provider.
 * Parameters stay initializers here (no host round trip of weights): this times the step's compute.
 */
import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/sidecar/graph/autodiff';
import { toOnnx } from '../../src/sidecar/graph/onnx';
import { Rng } from '../../src/sidecar/graph/init';
import { buildSd15Unet, small } from '../../src/sidecar/nn/sd15-unet';

export interface TrainStepResult { params: number; batch: number; median_ms: number; min_ms: number; loss_first: number; loss_last: number; build_s: number }

/** Builds the step graph: inputs of the UNet + `eps` target; outputs loss and every updated parameter. */
export function buildTrainStep(batch: number, lr = 1e-3) {
  const cfg = small();
  const { graph: g } = buildSd15Unet(cfg, { seed: 3 });
  const out = g.tensor('out_sample');
  const eps = g.input('eps', 'float32', out.shape);
  const diff = g.sub(out, eps);
  const loss = g.reduceMean(g.mul(diff, diff), [0, 1, 2, 3], false);
  g.output(loss, 'loss');
  const params = [...g.trainable];
  const grads = gradients(g, { seeds: [{ output: 'loss', grad: g.constant(1, 'float32', []) }], wrt: params });
  // SGD: theta <- theta - lr * dL/dtheta
  for (const p of params) g.output(g.sub(g.tensor(p), g.mul(grads.get(p)!, lr)), `new.${p}`);
  let n = 0;
  for (const p of params) n += g.initializers.get(p)!.data.length;
  return { bytes: toOnnx(g), cfg, params: n };
}

export async function timeTrainStep(ep: 'cpu' | 'cuda', iters: number, warmup: number, log: (m: string) => void): Promise<TrainStepResult> {
  const batch = 4;
  const t0 = performance.now();
  const { bytes, cfg, params } = buildTrainStep(batch);
  const build_s = (performance.now() - t0) / 1000;
  log(`train step graph: ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB, ${params} parameters, built in ${build_s.toFixed(1)} s`);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [ep], graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: 1,
  });
  const rng = new Rng(11);
  const s = cfg.sampleSize;
  const feeds = {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(batch * 4 * s * s)), [batch, 4, s, s]),
    timestep: new ort.Tensor('int64', new BigInt64Array(batch).fill(300n), [batch]),
    encoder_hidden_states: new ort.Tensor('float32', rng.fillNormal(new Float32Array(batch * cfg.sequenceLength * cfg.crossAttentionDim)), [batch, cfg.sequenceLength, cfg.crossAttentionDim]),
    eps: new ort.Tensor('float32', rng.fillNormal(new Float32Array(batch * 4 * s * s)), [batch, 4, s, s]),
  };
  const times: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < warmup + iters; i++) {
    const t = performance.now();
    const r = await session.run(feeds);
    if (i >= warmup) times.push(performance.now() - t);
    losses.push((r.loss.data as Float32Array)[0]);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return { params, batch, median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], loss_first: losses[0], loss_last: losses[losses.length - 1], build_s };
}
