/**
 * Training steps of the engine, for the GPU-vs-CPU figure: the small SD 1.5-architecture UNet
 * (src/sidecar/nn/sd15-unet.ts, small()), the noise-prediction loss MSE(eps_theta(x_t, t, c), eps)
 * (Ho et al., 2020, eq. 14), turned into one training-step graph by the engine
 * (src/sidecar/train/train-step.ts: forward, autodiff backward, AdamW) and run by its Trainer
 * (src/sidecar/train/trainer.ts: parameters and optimiser state fed back each step) on the chosen
 * provider. The batch is fixed, so the loss must fall: a check that the steps really train.
 */
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/sidecar/graph/init';
import { mseLoss } from '../../src/sidecar/train/losses';
import { buildTrainStep } from '../../src/sidecar/train/train-step';
import { Trainer } from '../../src/sidecar/train/trainer';
import { buildSd15Unet, small } from '../../src/sidecar/nn/sd15-unet';

export interface TrainStepResult { params: number; batch: number; median_ms: number; min_ms: number; loss_first: number; loss_last: number; build_s: number }

export async function timeTrainStep(ep: 'cpu' | 'cuda', iters: number, warmup: number, log: (m: string) => void): Promise<TrainStepResult> {
  const batch = 4;
  const t0 = performance.now();
  const cfg = small();
  const { graph: g } = buildSd15Unet(cfg, { seed: 3 });
  const out = g.tensor('out_sample');
  const eps = g.input('eps', 'float32', out.shape);
  const spec = buildTrainStep(g, { loss: mseLoss(g, out, eps), optimizer: { type: 'adamw', lr: 1e-3 } });
  let params = 0;
  for (const p of spec.layout) params += p.size;
  const trainer = await Trainer.create(spec, { providers: ep === 'cuda' ? ['cuda', 'cpu'] : ['cpu'] });
  const build_s = (performance.now() - t0) / 1000;
  log(`train step graph: ${params} parameters, built and opened in ${build_s.toFixed(1)} s`);
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
    const r = await trainer.trainStep(feeds);
    if (i >= warmup) times.push(performance.now() - t);
    losses.push(r.loss);
  }
  times.sort((a, b) => a - b);
  return { params, batch, median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], loss_first: losses[0], loss_last: losses[losses.length - 1], build_s };
}
