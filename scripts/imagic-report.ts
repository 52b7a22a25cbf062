/**
 * `npm run report:imagic`: the figures of docs/IMAGIC.md, reproduced from scratch on the embedded model.
 *
 *   1. inputs     8 pictures that are NOT training images verbatim: Noto emoji flipped, shifted,
 *                 recoloured, shrunk or combined (sharp), written to docs/images/imagic/inputs/
 *   2. edits      a full Imagic edit of each towards another emoji's caption (all three stages, no
 *                 cache, so the wall time is that of a first edit), eta swept over 0, 0.2, ..., 1.2
 *   3. measures   PSNR of the eta = 0 reconstruction against the prepared input; per eta the
 *                 CLIP-score analogue towards the target text (cosine of the family's image and text
 *                 embeddings) and the similarity to the input (cosine of image embeddings; PSNR)
 *   4. outputs    docs/images/imagic-grid.png (rows: pairs; columns: input, etas), report.json, and the
 *                 tables between the report markers of docs/IMAGIC.md
 *
 * Flags: --model <dir|name> (default: the default model, emoji-styles), --embedding-steps, --embedding-lr, --finetune-steps,
 * --finetune-lr, --train-batch, --guidance, --steps, --tune full|lora (default: the model's defaults), --seed (default 1), --pairs <n> (default
 * all), --dry (print the tables only; write no files: for choosing the defaults).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { runImagic, SWEEP_ETAS, type ImagicResult } from '../src/sidecar/pipelines/imagic/imagic';
import { DEFAULT_MODEL, resolveModel, modelRoots } from '../src/sidecar/io/model-discovery';
import { loadModelFolder } from '../src/sidecar/io/model-folder';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { readFloats } from '../src/sidecar/pipelines/tensors';
import { rgbToCHW, sharpToPng, tensorToRgb } from '../src/sidecar/io/images';

const argv = process.argv.slice(2);
const arg = (name: string, dflt?: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const numArg = (name: string): number | undefined => (arg(name) === undefined ? undefined : Number(arg(name)));

const ROOT = join(__dirname, '..');
const IMAGES = join(ROOT, 'docs', 'images');
const INPUTS = join(IMAGES, 'imagic', 'inputs');
const DOC = join(ROOT, 'docs', 'IMAGIC.md');
const EMOJI = join(dirname(require.resolve('emoji-datasource-google/package.json')), 'img', 'google', '64');

type Transform = (img: sharp.Sharp) => Promise<Buffer>;
interface Pair { name: string; source: string; how: string; transform: Transform; prompt: string }

const white = { r: 255, g: 255, b: 255, alpha: 1 };
/** `part` pasted at (left, top) onto a white 64x64 RGBA canvas. */
const onWhite = async (part: sharp.Sharp, left: number, top: number) => {
  const { data, info } = await part.raw().toBuffer({ resolveWithObject: true });
  return sharpToPng(sharp({ create: { width: 64, height: 64, channels: 4, background: white } })
    .composite([{ input: data, raw: { width: info.width, height: info.height, channels: info.channels }, left, top }]));
};
const flop: Transform = (i) => sharpToPng(i.flop());
const shift = (dx: number, dy: number): Transform => (i) =>
  onWhite(i.extract({ left: Math.max(0, -dx), top: Math.max(0, -dy), width: 64 - Math.abs(dx), height: 64 - Math.abs(dy) }), Math.max(0, dx), Math.max(0, dy));
const hue = (deg: number): Transform => (i) => sharpToPng(i.modulate({ hue: deg }));
const shrink: Transform = (i) => onWhite(i.resize(40, 40), 12, 14);

/** Input picture, how it was changed from the training image, and the target text (another emoji's caption). */
const PAIRS: Pair[] = [
  { name: 'cat-to-tiger', source: '1f431', how: 'cat, mirrored', transform: flop, prompt: 'a tiger' },
  { name: 'dog-to-wolf', source: '1f436', how: 'dog, shifted 6 px right', transform: shift(6, 0), prompt: 'a wolf' },
  { name: 'apple-to-green', source: '1f34e', how: 'red apple, mirrored', transform: flop, prompt: 'a green apple' },
  { name: 'grin-to-sunglasses', source: '1f600', how: 'grinning face, hue +25', transform: hue(25), prompt: 'a sunglasses' },
  { name: 'rabbit-to-mouse', source: '1f430', how: 'rabbit, shifted 5 px down', transform: shift(0, 5), prompt: 'a mouse' },
  { name: 'car-to-police', source: '1f697', how: 'car, mirrored', transform: flop, prompt: 'a police car' },
  { name: 'rose-to-tulip', source: '1f339', how: 'rose, hue -40', transform: hue(-40), prompt: 'a tulip' },
  { name: 'banana-to-lemon', source: '1f34c', how: 'banana, shrunk to 60 %', transform: shrink, prompt: 'a lemon' },
  { name: 'penguin-to-bird', source: '1f427', how: 'penguin, mirrored and shifted', transform: async (i) => shift(-4, 3)(sharp(await flop(i))), prompt: 'a bird' },
];

interface Row {
  pair: string; how: string; prompt: string;
  psnr0: number;
  /** PSNR of the VAE round trip of the input: the ceiling of psnr0. */
  psnrVae: number;
  /** Per eta: CLIP-T (image vs target text), CLIP-I (image vs input), PSNR vs input. */
  clipT: number[]; clipI: number[]; psnr: number[];
  inputClipT: number;
  timings: ImagicResult['timings'];
  losses: { embedding: [number, number]; finetune: [number, number] };
}

async function makeInput(p: Pair, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${p.name}.png`);
  writeFileSync(file, await p.transform(sharp(join(EMOJI, `${p.source}.png`))));
  return file;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

/** The family's CLIP-style encoders: unit image embeddings and unit text embeddings. */
async function encoders(modelDir: string) {
  const image = await ort.InferenceSession.create(join(modelDir, 'image_encoder', 'model.onnx'));
  const { textEncoder: text, tokenizer: tok } = await openModel(loadModelFolder(modelDir), {});
  const unit = (x: Float32Array) => { const n = Math.hypot(...x) || 1; return x.map((v) => v / n); };
  const vaeEnc = await ort.InferenceSession.create(join(modelDir, 'vae_encoder', 'model.onnx'));
  const vaeDec = await ort.InferenceSession.create(join(modelDir, 'vae_decoder', 'model.onnx'));
  const toTensor = (rgb: Uint8Array, size: number) => new ort.Tensor('float32', rgbToCHW(rgb, size * size), [1, 3, size, size]);
  return {
    /** The VAE's own round trip (encode, decode): the best an eta = 0 reconstruction can reach. */
    async vaeRoundTrip(rgb: Uint8Array, size: number): Promise<Uint8Array> {
      const latent = (await vaeEnc.run({ sample: toTensor(rgb, size) })).latent_sample;
      const px = readFloats((await vaeDec.run({ latent_sample: latent })).sample);
      return tensorToRgb(px, 0, size, size);
    },
    async image(rgb: Uint8Array, size: number): Promise<Float32Array> {
      return unit(readFloats((await image.run({ pixel_values: toTensor(rgb, size) })).image_embeds));
    },
    async text(prompt: string): Promise<Float32Array> {
      const out = await text.run({ input_ids: new ort.Tensor('int64', tok.encode([prompt]), [1, tok.maxLength]) });
      return unit(readFloats(out.text_embeds));
    },
  };
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

async function grid(rows: Array<{ input: Uint8Array; outputs: Uint8Array[]; label: string; size: number }>): Promise<Buffer> {
  const cell = 96, labelW = 150, head = 24, cols = 1 + SWEEP_ETAS.length;
  const width = labelW + cols * cell, height = head + rows.length * cell;
  const parts: sharp.OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    for (const [c, rgb] of [row.input, ...row.outputs].entries()) {
      const tile = await sharp(rgb, { raw: { width: row.size, height: row.size, channels: 3 } }).resize(cell, cell, { kernel: 'nearest' }).raw().toBuffer();
      parts.push({ input: tile, raw: { width: cell, height: cell, channels: 3 }, left: labelW + c * cell, top: head + r * cell });
    }
  }
  const esc = (s: string) => s.replace(/[<>&]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const headers = ['input', ...SWEEP_ETAS.map((e) => `eta ${e.toFixed(1)}`)].map((t, c) => `<text x="${labelW + c * cell + cell / 2}" y="17" text-anchor="middle">${t}</text>`).join('');
  const labels = rows.map((row, r) => `<text x="6" y="${head + r * cell + cell / 2 + 5}">${esc(row.label)}</text>`).join('');
  parts.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><style>text{font:13px sans-serif;fill:#222}</style>${headers}${labels}</svg>`), left: 0, top: 0 });
  return sharpToPng(sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(parts));
}

const f = (x: number, d = 3) => x.toFixed(d);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** A loss pair for the table; a stage run for 0 steps has none. */
const lossPair = (pairs: Array<[number, number]>) => (pairs.some((p) => Number.isNaN(p[0])) ? 'not run' : `${f(mean(pairs.map((p) => p[0])))} -> ${f(mean(pairs.map((p) => p[1])))}`);

function tables(rows: Row[], model: string, settings: string): string {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const lines = [
    `Model: \`${model}\`; ${settings}. Reproduce: \`npm run report:imagic${model === DEFAULT_MODEL ? '' : ` -- --model ${model}`}\`.`,
    '',
    '| pair | input (not a training image verbatim) | target text | PSNR eta=0 (dB) | VAE round trip (dB) | CLIP-T input | CLIP-T eta=0 | CLIP-T eta=1 | full edit (s) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.pair} | ${r.how} | "${r.prompt}" | ${f(r.psnr0, 1)} | ${f(r.psnrVae, 1)} | ${f(r.inputClipT)} | ${f(r.clipT[0])} | ${f(r.clipT[SWEEP_ETAS.indexOf(1)])} | ${f(r.timings.totalMs / 1000, 1)} |`),
    '',
    'Mean over the pairs, per eta (CLIP-T: cosine of the output\'s image embedding with the target text\'s; CLIP-I: with the input picture\'s image embedding; PSNR against the prepared input):',
    '',
    `| eta | ${SWEEP_ETAS.map((e) => e.toFixed(1)).join(' | ')} |`,
    `|---|${SWEEP_ETAS.map(() => '---').join('|')}|`,
    `| CLIP-T (towards the text) | ${SWEEP_ETAS.map((_, k) => f(mean(rows.map((r) => r.clipT[k])))).join(' | ')} |`,
    `| CLIP-I (like the input) | ${SWEEP_ETAS.map((_, k) => f(mean(rows.map((r) => r.clipI[k])))).join(' | ')} |`,
    `| PSNR vs input (dB) | ${SWEEP_ETAS.map((_, k) => f(mean(rows.map((r) => r.psnr[k])), 1)).join(' | ')} |`,
    '',
    `Mean PSNR of the eta = 0 reconstruction: ${f(mean(rows.map((r) => r.psnr0)), 1)} dB; of the VAE's own round trip (its ceiling): ${f(mean(rows.map((r) => r.psnrVae)), 1)} dB.`,
    `Wall time of a full edit (prepare + stage 1 + stage 2 + a ${SWEEP_ETAS.length}-eta sweep, nothing cached), on this machine (${cpus().length} x ${cpus()[0]?.model.trim() || 'unknown CPU'}, 1-minute load average ${loadavg()[0].toFixed(1)}): median ${f(median(rows.map((r) => r.timings.totalMs / 1000)), 1)} s `
      + `(stage 1 ${f(median(rows.map((r) => r.timings.embeddingMs / 1000)), 1)} s, stage 2 ${f(median(rows.map((r) => r.timings.finetuneMs / 1000)), 1)} s, sampling ${f(median(rows.map((r) => r.timings.sampleMs / 1000)), 1)} s).`,
    `Training loss, mean over the pairs (first and last 10 steps): stage 1 ${lossPair(rows.map((r) => r.losses.embedding))}, stage 2 ${lossPair(rows.map((r) => r.losses.finetune))}.`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const folder = resolveModel(arg('--model', DEFAULT_MODEL)!, modelRoots());
  const enc = await encoders(folder.dir);
  const pairs = PAIRS.slice(0, numArg('--pairs') ?? PAIRS.length);
  const out = mkdtempSync(join(tmpdir(), 'imagic-report-'));
  const rows: Row[] = [];
  const pictures: Array<{ input: Uint8Array; outputs: Uint8Array[]; label: string; size: number }> = [];
  let settings = '';
  const window = (xs: number[], end: boolean) => mean(end ? xs.slice(-10) : xs.slice(0, 10));
  for (const p of pairs) {
    const image = await makeInput(p, argv.includes('--dry') ? join(out, 'inputs') : INPUTS);
    const r = await runImagic({
      model: folder.dir, image, prompt: p.prompt, etas: SWEEP_ETAS, seed: numArg('--seed') ?? 1, out, cache: false, contactSheet: false,
      embeddingSteps: numArg('--embedding-steps'), finetuneSteps: numArg('--finetune-steps'),
      embeddingLearningRate: numArg('--embedding-lr'), finetuneLearningRate: numArg('--finetune-lr'), trainBatch: numArg('--train-batch'),
      guidanceScale: numArg('--guidance'), steps: numArg('--steps'), tune: arg('--tune') as 'full' | 'lora' | undefined,
    });
    const size = r.input.width;
    const inputEmb = await enc.image(r.input.rgb, size);
    const textEmb = await enc.text(p.prompt);
    const outEmb = await Promise.all(r.outputs.map((o) => enc.image(o, size)));
    const t = r.train;
    settings = `stage 1: ${t.embeddingSteps} steps at lr ${t.embeddingLearningRate}; stage 2 (${t.tune}): ${t.finetuneSteps} steps at lr ${t.finetuneLearningRate}; ${t.trainBatch} noise draws per step; sampling: ${r.metadata[0].steps} steps ${r.metadata[0].sampler}, guidance ${r.metadata[0].cfgScale}, seed ${r.metadata[0].seed}`;
    const row: Row = {
      pair: p.name, how: p.how, prompt: p.prompt,
      psnr0: psnr(r.outputs[SWEEP_ETAS.indexOf(0)], r.input.rgb),
      psnrVae: psnr(await enc.vaeRoundTrip(r.input.rgb, size), r.input.rgb),
      clipT: outEmb.map((e) => dot(e, textEmb)), clipI: outEmb.map((e) => dot(e, inputEmb)), psnr: r.outputs.map((o) => psnr(o, r.input.rgb)),
      inputClipT: dot(inputEmb, textEmb), timings: r.timings,
      losses: { embedding: [window(t.embeddingLoss, false), window(t.embeddingLoss, true)], finetune: [window(t.finetuneLoss, false), window(t.finetuneLoss, true)] },
    };
    rows.push(row);
    pictures.push({ input: r.input.rgb, outputs: r.outputs, label: `"${p.prompt}"`, size });
    console.log(`${p.name}: PSNR(eta=0) ${f(row.psnr0, 1)} dB, CLIP-T ${row.clipT.map((x) => f(x, 2)).join(' ')}, ${f(r.timings.totalMs / 1000, 1)} s`);
  }
  const md = tables(rows, folder.name, settings);
  console.log(`\n${md}`);
  rmSync(out, { recursive: true, force: true });
  if (argv.includes('--dry')) return;
  mkdirSync(IMAGES, { recursive: true });
  writeFileSync(join(IMAGES, 'imagic-grid.png'), await grid(pictures));
  writeFileSync(join(IMAGES, 'imagic', 'report.json'), `${JSON.stringify({ model: folder.dir.replace(ROOT + '/', ''), settings, etas: SWEEP_ETAS, rows }, null, 2)}\n`);
  if (existsSync(DOC)) {
    const doc = readFileSync(DOC, 'utf8');
    const start = '<!-- report:start -->', end = '<!-- report:end -->';
    if (doc.includes(start) && doc.includes(end)) {
      writeFileSync(DOC, `${doc.slice(0, doc.indexOf(start) + start.length)}\n${md}\n${doc.slice(doc.indexOf(end))}`);
    }
  }
}

void main();
