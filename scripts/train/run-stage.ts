/**
 * One resumable training stage of an embedded family: runs (or resumes, or skips when finished) a
 * training-step graph, checkpointing every 100 steps (atomic safetensors) and keeping the loss curve
 * and wall time across invocations in the run folder (`stages.json`, `<stage>.losses.json`). Shared by
 * scripts/train-emoji-base.ts (emoji-base) and scripts/train-styles.ts (the 64x64 family).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { Trainer } from '../../src/sidecar/train/trainer';
import { progressBar, type TrainProgress } from '../../src/sidecar/train/progress';
import { readSafetensors, writeSafetensors } from '../../src/sidecar/io/safetensors';
import { unflatten, type TrainStep } from '../../src/sidecar/train/train-step';
import type { TensorValue } from '../../src/sidecar/graph/types';
import type { Rng } from '../../src/sidecar/graph';
import type { StageSpec } from './stages';

export interface StageRecord { steps: number; batch: number; seconds: number; finalLoss: number }

export type BatchFn = (step: number, rng: Rng) => Record<string, ort.Tensor> | Promise<Record<string, ort.Tensor>>;

export function log(msg: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

export function readRecords(run: string): Record<string, unknown> {
  const f = join(run, 'stages.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown> : {};
}

export function saveRecord(run: string, name: string, r: StageRecord | Record<string, unknown>): void {
  const all = readRecords(run);
  all[name] = r;
  writeFileSync(join(run, 'stages.json'), JSON.stringify(all, null, 2));
}

export interface StageOptions {
  /** Return the EMA of the parameters (when the step keeps one). */
  useEma?: boolean;
  /** ORT's execution providers, e.g. ['cuda', 'cpu']. */
  providers?: readonly string[];
  /** Resume a checkpoint that lacks layers added to the model since (Trainer.warmStart). */
  warmStart?: boolean;
  /** Intra-op threads (two runs side by side on two cores take one each). */
  threads?: number;
}

/** Runs (or resumes, or skips) one stage; returns its trained parameters. */
export async function runStage(run: string, name: string, spec: TrainStep, s: StageSpec, batch: BatchFn, o: StageOptions = {}): Promise<Map<string, TensorValue>> {
  const { useEma = false, providers } = o;
  const done = join(run, `${name}.safetensors`);
  const records = readRecords(run);
  if (existsSync(done) && (records[name] as StageRecord | undefined)?.steps === s.steps) {
    log(`${name}: done before, skipped`);
    return readSafetensors(done).tensors;
  }
  const trainer = await Trainer.create(spec, { seed: 7, ...(providers ? { providers } : {}), ...(o.threads ? { threads: o.threads } : {}) });
  const ckpt = join(run, `${name}.ckpt.safetensors`);
  const lossFile = join(run, `${name}.losses.json`);
  let losses: number[] = [];
  if (existsSync(ckpt)) {
    if (o.warmStart) {
      const added = trainer.warmStart(ckpt);
      if (added.length) log(`${name}: warm start, ${added.length} new parameters at their initial values: ${added.join(', ')}`);
    } else trainer.loadCheckpoint(ckpt);
    losses = existsSync(lossFile) ? (JSON.parse(readFileSync(lossFile, 'utf8')) as number[]).slice(0, trainer.step) : [];
    log(`${name}: resumed at step ${trainer.step}`);
  }
  const bar = process.stdout.isTTY ? progressBar(s.steps, name) : null;
  const t0 = performance.now();
  const prevSeconds = Number((records[`${name}.partial`] as StageRecord | undefined)?.seconds ?? 0);
  const every = 100;
  await trainer.fit({
    steps: s.steps, batch, checkpoint: ckpt, checkpointEvery: every,
    onProgress: (p: TrainProgress) => {
      losses.push(p.loss);
      bar?.update(p);
      if (p.step % every === 0 || p.step === s.steps) {
        writeFileSync(lossFile, JSON.stringify(losses));
        const seconds = prevSeconds + (performance.now() - t0) / 1000;
        saveRecord(run, `${name}.partial`, { steps: p.step, batch: s.batch, seconds, finalLoss: p.loss });
        if (!bar) log(`${name} ${p.step}/${s.steps} loss ${p.loss.toPrecision(4)} lr ${p.lr.toExponential(2)} ${p.stepsPerSec.toFixed(2)} steps/s eta ${(p.etaSec / 60).toFixed(1)} min`);
      }
    },
  });
  bar?.stop();
  const params = useEma ? trainer.emaParams() : trainer.params();
  const copy = new Map([...params].map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).slice() }]));
  writeSafetensors(done, copy);
  const tail = losses.slice(-50);
  saveRecord(run, name, { steps: s.steps, batch: s.batch, seconds: prevSeconds + (performance.now() - t0) / 1000, finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(tail.length, 1) });
  await trainer.dispose();
  return copy;
}

/** The EMA weights of a stage's latest checkpoint (written every 100 steps by a running invocation). */
export function emaFromCheckpoint(run: string, name: string, layout: TrainStep['layout']): Map<string, TensorValue> {
  const ckpt = join(run, `${name}.ckpt.safetensors`);
  if (!existsSync(ckpt)) throw new Error(`--export-checkpoint: ${ckpt} does not exist yet`);
  const { tensors, metadata } = readSafetensors(ckpt);
  const ema = tensors.get('state.ema');
  if (!ema) throw new Error(`${ckpt} holds no EMA`);
  const size = layout.reduce((n, l) => n + l.size, 0);
  if (ema.data.length !== size) throw new Error(`${ckpt} holds ${ema.data.length} EMA values, the model has ${size} parameters: a layer was added since; resume training (it warm-starts) for 100 steps first`);
  log(`${name}: exporting the EMA of checkpoint step ${metadata.step}`);
  return unflatten(layout, (ema.data as Float32Array).slice());
}
