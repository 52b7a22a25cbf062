/**
 * `npm run bench:train`: trains the embedded UNet (src/sidecar/nn/unet.ts: timestep input,
 * cross-attention) with this engine and with PyTorch (scripts/bench-train.py, Debian's python3-torch)
 * from the same initial weights on the same batch. Reports seconds per step (median of the timed steps)
 * and process CPU seconds per step (less disturbed by other processes on a shared machine) for 1 and 2
 * intra-op threads, the ratios, the largest relative gradient difference, and peak memory;
 * prints a table and a JSON line. Without PyTorch it says so and reports this engine alone.
 * Usage: npm run bench:train -- [--steps 6] [--batch 64] [--threads 1,2] [--channels 64] [--family emoji-base|styles-64]
 *   [--outer <width>] [--latent-channels <n>]  (the 64x64 family's design choices)
 * The PyTorch reference mirrors emoji-base's shapes only, so `--family styles-64` (16x16x4 latents) times
 * this engine alone: it is how the 64x64 family's width was chosen.
 */
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, createSession, toOnnx, type Graph, type TensorValue } from '../src/sidecar/graph';
import { gradients } from '../src/sidecar/graph/autodiff';
import { mseLoss } from '../src/sidecar/train/losses';
import { buildTrainStep } from '../src/sidecar/train/train-step';
import { EMOJI_BASE, EMOJI_STYLES_64, latentSide, unetGraph } from '../src/sidecar/nn';
import { Trainer } from '../src/sidecar/train/trainer';
import { readSafetensors, writeSafetensors } from '../src/sidecar/io/safetensors';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const STEPS = Number(arg('steps', '6')), B = Number(arg('batch', '64'));
const THREADS = arg('threads', '1,2').split(',').map(Number);
/** UNet width (the embedded model uses 64; 96 gives ~1.7 M parameters); the time embedding is twice it. */
const FAMILY = arg('family', 'emoji-base');
const BASE = { 'emoji-base': EMOJI_BASE, 'styles-64': EMOJI_STYLES_64 }[FAMILY];
if (!BASE) throw new Error(`--family ${FAMILY}: expected emoji-base or styles-64`);
const CHANNELS = Number(arg('channels', String(BASE.unetChannels)));
const PY = '/usr/bin/python3';
const OUTER = Number(arg('outer', String(BASE.unetOuterChannels ?? 0)));
const cfg = {
  ...BASE, vocab: 1567, unetChannels: CHANNELS, unetTimeDim: 2 * CHANNELS, unetOuterChannels: OUTER || undefined,
  latentChannels: Number(arg('latent-channels', String(BASE.latentChannels))),
};
const dir = join('.cache', 'bench');

/** The UNet with an MSE loss against `target` (the v-prediction objective's form). */
function lossGraph(): { g: Graph; loss: ReturnType<Graph['tensor']> } {
  const g = unetGraph(cfg, 0);
  const out = g.tensor('out_sample');
  g.outputs.length = 0;
  const s = latentSide(cfg);
  return { g, loss: mseLoss(g, out, g.input('target', 'float32', ['batch', cfg.latentChannels, s, s])) };
}

function makeBatch(): Record<string, ort.Tensor> {
  const rng = new Rng(1234), s = latentSide(cfg), n = B * cfg.latentChannels * s * s;
  return {
    sample: new ort.Tensor('float32', rng.fillNormal(new Float32Array(n)), [B, cfg.latentChannels, s, s]),
    timestep: new ort.Tensor('int64', BigInt64Array.from({ length: B }, () => BigInt(rng.int(1000))), [B]),
    encoder_hidden_states: new ort.Tensor('float32', rng.fillNormal(new Float32Array(B * cfg.length * cfg.textDim)), [B, cfg.length, cfg.textDim]),
    target: new ort.Tensor('float32', rng.fillNormal(new Float32Array(n)), [B, cfg.latentChannels, s, s]),
  };
}

const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

interface Timing { median: number; min: number; cpu: number }

async function timeOurs(batch: Record<string, ort.Tensor>, threads: number): Promise<Timing> {
  const { g, loss } = lossGraph();
  const t = await Trainer.create(buildTrainStep(g, { loss, optimizer: { type: 'adamw', lr: 1e-3 } }), { threads });
  const times: number[] = [], cpu: number[] = [];
  for (let i = 0; i < STEPS + 2; i++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    await t.trainStep(batch);
    const c = process.cpuUsage(c0);
    if (i >= 2) { // two warm-up steps
      times.push((performance.now() - t0) / 1000);
      cpu.push((c.user + c.system) / 1e6);
    }
  }
  await t.dispose();
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { median: times[times.length >> 1], min: times[0], cpu: cpu[cpu.length >> 1] };
}

/** Our gradients of the first step, by parameter name. */
async function ourGradients(batch: Record<string, ort.Tensor>): Promise<{ grads: Map<string, Float32Array>; loss: number; weights: Map<string, TensorValue> }> {
  const { g, loss } = lossGraph();
  const weights = new Map([...g.trainable].map((n) => [n, g.initializers.get(n)!]));
  const grads = gradients(g, { seeds: [{ output: loss.name, grad: g.constant(1, 'float32', []) }], wrt: [...g.trainable] });
  g.output(loss, 'loss');
  for (const [n, t] of grads) g.output(t, `grad:${n}`);
  const out = await (await createSession(toOnnx(g))).run(batch);
  return { grads: new Map([...grads.keys()].map((n) => [n, out[`grad:${n}`].data as Float32Array])), loss: Number(out.loss.data[0]), weights };
}

function torchAvailable(): boolean {
  return spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const batch = makeBatch();
  const ours: Record<number, Timing> = {};
  for (const n of THREADS) ours[n] = await timeOurs(batch, n);
  const oursPeak = peakRssMb();
  const mine = await ourGradients(batch);
  const nParams = [...mine.weights.values()].reduce((s, v) => s + v.data.length, 0);

  let torch: { threads: Record<string, Timing>; peak_rss_mb: number; loss: number } | undefined;
  let maxRel: number | undefined, worstName = '';
  if (FAMILY === 'emoji-base' && torchAvailable()) {
    const tensors = new Map<string, TensorValue>(mine.weights);
    for (const [k, v] of Object.entries(batch)) {
      const data = v.type === 'int64' ? Float32Array.from(v.data as BigInt64Array, Number) : (v.data as Float32Array);
      tensors.set(`__batch.${k}`, { dtype: 'float32', dims: [...v.dims], data });
    }
    writeSafetensors(join(dir, 'train-in.safetensors'), tensors);
    const r = spawnSync(PY, ['scripts/bench-train.py', join(dir, 'train-in.safetensors'), join(dir, 'torch-grads.safetensors'), String(STEPS), THREADS.join(','), String(CHANNELS)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`PyTorch side failed:\n${r.stderr}`);
    torch = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const tg = readSafetensors(join(dir, 'torch-grads.safetensors')).tensors;
    maxRel = 0;
    for (const [name, a] of mine.grads) {
      const b = tg.get(name)!.data as Float32Array;
      let diff = 0, scale = 0;
      for (let i = 0; i < b.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      if (diff / scale > maxRel) [maxRel, worstName] = [diff / scale, name];
    }
  }
  report({ ours, oursPeak, torch, maxRel, worstName, nParams, loss: mine.loss });
}

function report(r: {
  ours: Record<number, Timing>; oursPeak: number; nParams: number; loss: number; worstName: string;
  torch?: { threads: Record<string, Timing>; peak_rss_mb: number; loss: number }; maxRel?: number;
}): void {
  console.log(`\nUNet train step (AdamW), ${r.nParams.toLocaleString()} parameters, batch ${B}, latents ${cfg.latentChannels}x${latentSide(cfg)}x${latentSide(cfg)}, context 16x64, ${STEPS} timed steps`);
  console.log('| intra-op threads | this engine s/step (CPU s) | PyTorch s/step (CPU s) | ratio wall (CPU) |');
  console.log('|---|---|---|---|');
  const f = (x: Timing) => `${x.median.toFixed(3)} (${x.cpu.toFixed(3)})`;
  for (const n of THREADS) {
    const t = r.torch?.threads[String(n)], o = r.ours[n];
    console.log(`| ${n} | ${f(o)} | ${t ? f(t) : 'n/a'} | ${t ? `${(o.median / t.median).toFixed(2)} (${(o.cpu / t.cpu).toFixed(2)})` : 'n/a'} |`);
  }
  if (r.torch) {
    console.log(`max relative gradient difference: ${r.maxRel!.toExponential(2)} (worst tensor ${r.worstName}; per tensor max|ours - torch| / max|torch|)`);
    console.log(`loss: ours ${r.loss.toFixed(6)}, torch ${r.torch.loss.toFixed(6)}`);
    console.log(`peak RSS: this engine ${r.oursPeak.toFixed(0)} MB (whole process), PyTorch ${r.torch.peak_rss_mb.toFixed(0)} MB`);
  } else {
    console.log(`${FAMILY === 'emoji-base' ? `PyTorch not installed for ${PY} (apt-get install python3-torch)` : `no PyTorch reference for ${FAMILY}`}: this engine's figures only. Peak RSS ${r.oursPeak.toFixed(0)} MB`);
  }
  console.log(JSON.stringify({
    bench: 'train', family: FAMILY, params: r.nParams, channels: CHANNELS, batch: B, steps: STEPS, ours_s_per_step: r.ours, torch_s_per_step: r.torch?.threads ?? null,
    ratio: r.torch ? Object.fromEntries(THREADS.map((n) => [n, r.ours[n].median / r.torch!.threads[String(n)].median])) : null,
    cpu_ratio: r.torch ? Object.fromEntries(THREADS.map((n) => [n, r.ours[n].cpu / r.torch!.threads[String(n)].cpu])) : null,
    max_rel_grad_diff: r.maxRel ?? null, worst_tensor: r.worstName || null, peak_rss_mb: { ours: r.oursPeak, torch: r.torch?.peak_rss_mb ?? null },
  }));
}

void main();
