/**
 * The distillation report (docs/DISTILLATION.md): the teacher with guidance at 64, 32, 16, 8 and 4
 * DDIM steps (and 2 and 1, to show where the undistilled teacher breaks down) against the guided students at 8, 4, 2 and 1 steps, all at the same guidance scale and
 * the same seeds:
 *   - FID-analogue, CLIP-score analogue and object accuracy (`diffusion-studio eval`'s evaluate());
 *   - time per image through the real text-to-image pipeline (one image per request, best of N runs:
 *     other work on the machine disturbs some runs, and the minimum is the least disturbed one);
 *   - UNet evaluations per image (rows through the UNet: 2 per step with guidance, 1 for a student);
 *   - one prompt grid for all (docs/distillation/grid.png) and a plot (docs/distillation/quality.svg).
 *
 *   - on a 64x64 multi-style model (issue 13), variety too: styles per 8 seeds and the pairwise pixel
 *     distance between seeds (eval's variety measures), the object evaluator's accuracy, and prompt
 *     adherence: digits read as asked, style words obeyed;
 *
 *   npm run report:distill [-- --count 512 --timing-runs 6 --guidance 3 --teacher <dir> --student-prefix styles-guided-
 *     --out docs/distillation/styles --section results-styles --extra "<label>=<student dir>" ...]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { evaluate } from '../src/sidecar/pipelines/eval/evaluate';
import { sampleImages } from '../src/sidecar/pipelines/eval/sample';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { textToImage } from '../src/sidecar/pipelines/text-to-image';
import { loadModelFolder, type ModelFolder } from '../src/sidecar/io/model-folder';
import { sharpToPng, tensorToRgb } from '../src/sidecar/io/images';

// One intra-op thread: CPU time then measures the work, not idle spinning threads (a second thread on
// the 2-core VM doubled CPU time for the same wall time: `npm run bench:train -- --threads 1,2`).
process.env.DIFFUSION_STUDIO_THREADS ??= '1';
/** The intra-op threads every session here gets (src/sidecar/runtime/sessions.ts reads the same variable). */
const THREADS = Number.isInteger(Number(process.env.DIFFUSION_STUDIO_THREADS)) && Number(process.env.DIFFUSION_STUDIO_THREADS) > 0
  ? String(Number(process.env.DIFFUSION_STUDIO_THREADS)) : 'ONNX Runtime default';
/** What the evaluation samples with, besides steps and guidance: part of the metrics cache key. */
const EVAL = { scheduler: 'ddim', seed: 0, batch: 64 } as const;
const ROOT = resolve(__dirname, '..');

const { values: a } = parseArgs({
  options: {
    teacher: { type: 'string', default: 'models/emoji-base' },
    students: { type: 'string', default: 'models' },
    /** The guided students are <students>/<prefix><steps> for 8, 4, 2 and 1 steps. */
    'student-prefix': { type: 'string', default: 'emoji-guided-' },
    count: { type: 'string', default: '512' },
    guidance: { type: 'string', default: '3' },
    'timing-runs': { type: 'string', default: '8' },
    out: { type: 'string', default: 'docs/distillation' },
    'metrics-only': { type: 'string' },
    doc: { type: 'string', default: 'docs/DISTILLATION.md' },
    /** The doc's section written: between <!-- <section>:begin --> and <!-- <section>:end -->. */
    section: { type: 'string', default: 'results' },
    extra: { type: 'string', multiple: true },
  },
});

interface Row {
  label: string;
  model: string;
  steps: number;
  guided: boolean;
  unetEvals: number;
  fid: number;
  clipScore: number;
  objectAccuracy: number;
  variety?: Variety;
  msPerImage: number;
  ortMsPerImage: number;
  cpuMsPerImage: number;
  /** An --extra row: in the table and the grid, not in the plot's two series. */
  extra?: boolean;
}

/** eval's variety measures that the report shows (64x64 multi-style models only). */
interface Variety {
  meanStyles: number; meanPairDistance: number; distanceRatio: number; objects?: number; objectsCeiling?: number;
  /** "a handwritten number N" read as N, and "<object>, <word> style" read in that style (eval's measures). */
  digits: number; styleWords: number;
}
type Metrics = { fid: number; clipScore: number; objectAccuracy: number; variety?: Variety };

const GRID_PROMPTS = ['a cat face', 'a red apple', 'a rocket', 'a sunflower', 'a pizza', 'a ghost', 'a house', 'a fish'];

function configs(): Array<{ label: string; model: string; steps: number; extra?: boolean }> {
  const teacher = resolve(a.teacher!);
  return [
    ...[64, 32, 16, 8, 4, 2, 1].map((steps) => ({ label: `teacher, ${steps} step${steps > 1 ? 's' : ''}`, model: teacher, steps })),
    ...[8, 4, 2, 1].map((steps) => ({ label: `guided student, ${steps} step${steps > 1 ? 's' : ''}`, model: resolve(a.students!, `${a['student-prefix']}${steps}`), steps })),
    ...(a.extra ?? []).map(extraRow),
  ];
}

/** --extra "<label>=<student folder>": one more row, at the steps its distill.json names. */
function extraRow(spec: string): { label: string; model: string; steps: number; extra: true } {
  const at = spec.lastIndexOf('=');
  if (at <= 0) throw new Error(`--extra must be "<label>=<student folder>", got "${spec}"`);
  const model = resolve(spec.slice(at + 1));
  const steps = Number(loadModelFolder(model).distill?.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${model}: distill.json names no step count`);
  return { label: spec.slice(0, at), model, steps, extra: true };
}

const sha = (...parts: Array<string | Buffer>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/** Every file under `dir` (or the file itself), as path relative to `dir` and contents. */
function hashTree(path: string): string {
  if (!statSync(path).isDirectory()) return sha(readFileSync(path));
  const names = readdirSync(path, { recursive: true, encoding: 'utf8' }).filter((n) => statSync(join(path, n)).isFile()).sort();
  return sha(...names.flatMap((n) => [n, readFileSync(join(path, n))]));
}

/**
 * Hashes of everything in a model folder that sampling and evaluation read: the component folders
 * (UNet, text encoder, VAE decoder, tokenizer, scheduler; each with its config and external data), the
 * image encoder evaluate() embeds with (the folder's own, else its base's, as evaluate.ts picks it), and
 * the top-level JSON files of the folder and its bases (model_index.json, distill.json) and their
 * vae/config.json (the scaling factor's fallback); not READMEs.
 */
function modelHashes(folder: ModelFolder): Record<string, string> {
  const f = folder.files;
  const imageEncoder = [join(folder.dir, 'image_encoder'), join(dirname(dirname(f.textEncoder)), 'image_encoder')].find((d) => existsSync(join(d, 'model.onnx')));
  if (!imageEncoder) throw new Error(`${folder.dir} has no image_encoder (nor does its base): evaluation needs it`);
  const tops: string[] = [];
  for (let m: ModelFolder | null = folder; m; m = m.base) {
    for (const n of [...readdirSync(m.dir).sort(), join('vae', 'config.json')]) {
      if (n.endsWith('.json') && existsSync(join(m.dir, n)) && statSync(join(m.dir, n)).isFile()) tops.push(sha(n, readFileSync(join(m.dir, n))));
    }
  }
  return {
    unet: hashTree(dirname(f.unet)), textEncoder: hashTree(dirname(f.textEncoder)), vaeDecoder: hashTree(dirname(f.vaeDecoder)),
    tokenizer: hashTree(f.tokenizerDir), scheduler: hashTree(f.schedulerConfig), imageEncoder: hashTree(imageEncoder), folder: sha(...tops),
  };
}

/** The evaluation's code: evaluate.ts and every project file it imports, directly or not. */
function evalSourceHash(): string {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]);
      const found = [`${target}.ts`, join(target, 'index.ts'), target].find((p) => existsSync(p) && statSync(p).isFile());
      if (!found) throw new Error(`${file}: cannot find the import ${m[1]}`);
      visit(found);
    }
  };
  visit(join(ROOT, 'src', 'sidecar', 'pipelines', 'eval', 'evaluate.ts'));
  const files = [...seen].sort();
  return sha(...files.flatMap((p) => [relative(ROOT, p), readFileSync(p)]));
}

const packageVersion = (name: string) => (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
let evalCode: string | undefined;

/**
 * evaluate()'s numbers, cached in .cache/distill-report under a key made of everything that changes
 * them: the hashes of the model files used (incl. the encoders evaluation embeds with), the sampling
 * settings (steps, guidance, scheduler, seed, batch), the image count, the threads, the evaluation's
 * source files and the versions of ONNX Runtime and of the emoji set. The teacher's rows can be
 * measured while the students train, and a rerun only measures what changed.
 */
async function metrics(model: string, steps: number, guidance: number, count: number): Promise<Metrics> {
  evalCode ??= evalSourceHash();
  const key = {
    model: modelHashes(loadModelFolder(model)), steps, guidance, count, ...EVAL, threads: THREADS, evalCode,
    packages: { 'onnxruntime-node': packageVersion('onnxruntime-node'), 'emoji-datasource-google': packageVersion('emoji-datasource-google') },
  };
  const file = resolve('.cache', 'distill-report', `${sha(JSON.stringify(key)).slice(0, 20)}.json`);
  if (existsSync(file)) {
    const hit = JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown; metrics?: Metrics };
    // An entry written before the report showed digits and style words lacks them: measured again.
    const complete = !hit.metrics?.variety || hit.metrics.variety.digits !== undefined;
    if (hit.metrics && complete && JSON.stringify(hit.key) === JSON.stringify(key)) return hit.metrics;
  }
  const e = await evaluate({ model, steps, guidance, scheduler: EVAL.scheduler, seed: EVAL.seed, count, batch: EVAL.batch });
  const v = e.variety;
  const m: Metrics = {
    fid: e.fid, clipScore: e.clipScore, objectAccuracy: e.objectAccuracy,
    ...(v ? { variety: { meanStyles: v.variety.meanStyles, meanPairDistance: v.variety.meanPairDistance, distanceRatio: v.variety.distanceRatio, objects: v.objects?.accuracy, objectsCeiling: v.objects?.evaluatorOnLearned,
      digits: v.digits.accuracy, styleWords: v.styleWords.accuracy } } : {}),
  };
  mkdirSync(resolve('.cache', 'distill-report'), { recursive: true });
  writeFileSync(file, JSON.stringify({ key, metrics: m }, null, 1));
  return m;
}

/**
 * Time per image through the text-to-image pipeline, one image per request. The machine is shared,
 * so the configurations are timed round-robin (each round runs every configuration once) and each
 * keeps its best time: all see the same conditions, and the minimum is the least disturbed run.
 */
async function timings(list: Array<{ model: string; steps: number }>, guidance: number, rounds: number, images = 1): Promise<Array<{ ms: number; ortMs: number; cpuMs: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'distill-report-'));
  const best = list.map(() => ({ ms: Infinity, ortMs: Infinity, cpuMs: Infinity }));
  try {
    for (let k = 0; k <= rounds; k++) {
      for (const [i, c] of list.entries()) {
        const c0 = process.cpuUsage();
        const r = await textToImage({
          model: c.model, prompt: GRID_PROMPTS[k % GRID_PROMPTS.length], steps: c.steps, guidanceScale: guidance, scheduler: 'ddim', seed: 100 + k,
          count: images, batchSize: images, out: join(dir, `${i}-${k}${images > 1 ? '' : '.png'}`),
        });
        if (k === 0) continue; // the first round opens the sessions
        const cpu = process.cpuUsage(c0);
        // Per image: a request of `images` images runs them as one batch through every model.
        best[i] = {
          ms: Math.min(best[i].ms, r.timings.totalMs / images), ortMs: Math.min(best[i].ortMs, r.timings.ortMs / images),
          cpuMs: Math.min(best[i].cpuMs, (cpu.user + cpu.system) / 1000 / images),
        };
      }
    }
    return best;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One row of the grid: the prompts' images side by side, 2x upscaled, RGB uint8. */
async function gridRow(model: string, steps: number, guidance: number): Promise<{ rgb: Uint8Array; size: number }> {
  const m = await openModel(loadModelFolder(model), {});
  const { images, size } = await sampleImages(m, GRID_PROMPTS, { steps, guidance, scheduler: 'ddim', seed: 7 });
  const n = GRID_PROMPTS.length, s2 = size * 2;
  const rgb = new Uint8Array(n * s2 * s2 * 3);
  for (let k = 0; k < n; k++) {
    // tensorToRgb clamps: a value past [-1, 1] written straight into a Uint8Array would wrap around.
    const img = tensorToRgb(images, k, size, size);
    for (let y = 0; y < s2; y++) {
      for (let x = 0; x < s2; x++) {
        for (let c = 0; c < 3; c++) rgb[(y * n * s2 + k * s2 + x) * 3 + c] = img[((y >> 1) * size + (x >> 1)) * 3 + c];
      }
    }
  }
  return { rgb, size: s2 };
}

async function writeGrid(rows: Array<{ label: string; rgb: Uint8Array; size: number }>, path: string): Promise<void> {
  const n = GRID_PROMPTS.length, s = rows[0].size, labelW = 190, headH = 22;
  const width = labelW + n * s, height = headH + rows.length * s;
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const text = [
    ...GRID_PROMPTS.map((p, k) => `<text x="${labelW + k * s + s / 2}" y="15" font-size="10" text-anchor="middle">${esc(p)}</text>`),
    ...rows.map((r, i) => `<text x="6" y="${headH + i * s + s / 2 + 4}" font-size="12">${esc(r.label)}</text>`),
  ].join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/><g font-family="sans-serif" fill="#222">${text}</g></svg>`);
  const layers = rows.map((r, i) => ({ input: Buffer.from(r.rgb), raw: { width: n * s, height: s, channels: 3 as const }, left: labelW, top: headH + i * s }));
  writeFileSync(path, await sharpToPng(sharp(svg).composite(layers)));
}

/** FID-analogue against UNet evaluations per image (log scale), teacher and students as two series. */
function plot(rows: Row[]): string {
  const W = 560, H = 320, L = 60, B = 40, T = 20, R = 20;
  const xs = rows.map((r) => Math.log2(r.unetEvals)), ys = rows.map((r) => r.fid);
  // Both axes logarithmic: the FID-analogue spans from near-teacher values to the 1-step teacher's collapse.
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const ly0 = Math.log10(Math.min(...ys) * 0.8), ly1 = Math.log10(Math.max(...ys) * 1.25);
  const px = (v: number) => L + ((v - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (v: number) => H - B - ((Math.log10(v) - ly0) / (ly1 - ly0 || 1)) * (H - B - T);
  const series = (guided: boolean, color: string) => {
    const pts = rows.filter((r) => r.guided === guided && !r.extra).sort((p, q) => p.unetEvals - q.unetEvals);
    const line = pts.map((r) => `${px(Math.log2(r.unetEvals)).toFixed(1)},${py(r.fid).toFixed(1)}`).join(' ');
    const dots = pts.map((r) => `<circle cx="${px(Math.log2(r.unetEvals)).toFixed(1)}" cy="${py(r.fid).toFixed(1)}" r="4" fill="${color}"><title>${r.label}: ${r.fid.toPrecision(3)}</title></circle>` +
      `<text x="${px(Math.log2(r.unetEvals)).toFixed(1)}" y="${(py(r.fid) - 8).toFixed(1)}" font-size="10" text-anchor="middle">${r.steps}</text>`).join('');
    return `<polyline points="${line}" fill="none" stroke="${color}" stroke-width="2"/>${dots}`;
  };
  const ticks = Array.from({ length: Math.round(x1 - x0) + 1 }, (_, i) => x0 + i)
    .map((v) => `<text x="${px(v)}" y="${H - B + 16}" font-size="10" text-anchor="middle">${2 ** v}</text>`).join('');
  const yt = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    .filter((v) => Math.log10(v) >= ly0 && Math.log10(v) <= ly1)
    .map((v) => `<text x="${L - 6}" y="${py(v) + 3}" font-size="10" text-anchor="end">${v}</text><line x1="${L}" x2="${W - R}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>` +
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#444"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#444"/>${ticks}${yt}` +
    `<text x="${(L + W - R) / 2}" y="${H - 6}" font-size="11" text-anchor="middle">UNet evaluations per image (log scale; labels: sampling steps)</text>` +
    `<text x="14" y="${(T + H - B) / 2}" font-size="11" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">FID-analogue (log scale, lower is better)</text>` +
    series(false, '#c0392b') + series(true, '#2471a3') +
    `<text x="${W - R - 150}" y="${T + 10}" font-size="11" fill="#c0392b">teacher + guidance (DDIM)</text><text x="${W - R - 150}" y="${T + 26}" font-size="11" fill="#2471a3">guided students</text></svg>`;
}

/** The machine the times were taken on, as measured here (not assumed). */
interface Machine { cpu: string; cores: number; threads: string; loadAverage: { start: number; end: number } }

function machine(loadAtStart: number): Machine {
  const c = cpus();
  return { cpu: c[0]?.model.trim() || 'unknown CPU', cores: c.length, threads: THREADS, loadAverage: { start: loadAtStart, end: loadavg()[0] } };
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const pct1 = (x: number) => `${(100 * x).toFixed(1)}%`;

function table(rows: Row[], guidance: number, count: number, runs: number, batch8: { teacherCpuMs: number; studentCpuMs: number }, m: Machine): string {
  const t64 = rows[0];
  const v64 = t64.variety;
  // Variety columns on a multi-style model: styles per 8 seeds and seed distance, each also as a share of the teacher's.
  const varietyHead = v64 ? ' styles / 8 seeds (vs teacher) | seed distance /255 (vs teacher) | object evaluator | digits read as asked | style word obeyed |' : '';
  const varietyCells = (r: Row) => {
    const v = r.variety;
    if (!v64) return '';
    if (!v) return ' – | – | – | – | – |';
    return ` ${v.meanStyles.toFixed(2)} (${pct(v.meanStyles / v64.meanStyles)}) | ${v.meanPairDistance.toFixed(1)} (${pct(v.meanPairDistance / v64.meanPairDistance)}) | ${v.objects === undefined ? '–' : pct(v.objects)} | ${pct1(v.digits)} | ${pct1(v.styleWords)} |`;
  };
  const head = `| model | steps | UNet evals / image | FID-analogue (vs 64-step teacher) | CLIP-score analogue | object accuracy |${varietyHead} CPU time / image (ms) | wall time / image (ms) | speed-up vs 64-step teacher (CPU time) |\n|---|---:|---:|---:|---:|---:|${v64 ? '---:|---:|---:|---:|---:|' : ''}---:|---:|---:|`;
  const body = rows.map((r) => `| ${r.label} | ${r.steps} | ${r.unetEvals} | ${r.fid.toPrecision(3)} (${(r.fid / t64.fid).toFixed(2)}x) | ${r.clipScore.toFixed(3)} | ${(100 * r.objectAccuracy).toFixed(1)}% |${varietyCells(r)} ${r.cpuMsPerImage.toFixed(1)} | ${r.msPerImage.toFixed(1)} | ${(t64.cpuMsPerImage / r.cpuMsPerImage).toFixed(1)}x |`).join('\n');
  const s4 = rows.find((r) => r.guided && r.steps === 4), t4 = rows.find((r) => !r.guided && r.steps === 4);
  const varietyGoal = (s: Row) => {
    if (!v64 || !s.variety) return [];
    const styles = s.variety.meanStyles / v64.meanStyles, dist = s.variety.meanPairDistance / v64.meanPairDistance;
    return [
      `- 4-step guided student variety / 64-step guided teacher: styles per 8 seeds **${pct(styles)}**, seed distance **${pct(dist)}** (goal >= 90% each: ${styles >= 0.9 && dist >= 0.9 ? 'met' : 'NOT met'}).`,
      `- Prompt adherence, 4-step student against the 64-step teacher: digits read as asked ${pct1(s.variety.digits)} against ${pct1(v64.digits)}, style word obeyed ${pct1(s.variety.styleWords)} against ${pct1(v64.styleWords)}.`,
    ];
  };
  const goals = s4 && t4 ? [
    `- 4-step guided student FID-analogue / 64-step guided teacher: **${(s4.fid / t64.fid).toFixed(2)}x** (goal <= 1.15x: ${s4.fid / t64.fid <= 1.15 ? 'met' : 'NOT met'}).`,
    `- 4-step guided student speed-up per image (CPU time of the whole request): **${(t64.cpuMsPerImage / s4.cpuMsPerImage).toFixed(1)}x** (goal >= 25x: ${t64.cpuMsPerImage / s4.cpuMsPerImage >= 25 ? 'met' : 'NOT met'}); wall time ${(t64.msPerImage / s4.msPerImage).toFixed(1)}x; UNet evaluations ${t64.unetEvals / s4.unetEvals}x.`,
    `- The same two in requests of 8 images (one batch of 8 through each model; CPU time per image): teacher ${batch8.teacherCpuMs.toFixed(1)} ms, 4-step student ${batch8.studentCpuMs.toFixed(2)} ms: **${(batch8.teacherCpuMs / batch8.studentCpuMs).toFixed(1)}x** (${batch8.teacherCpuMs / batch8.studentCpuMs >= 25 ? 'at least' : 'short of'} 25x).`,
    ...varietyGoal(s4),
    `- The teacher alone at 4 steps: FID-analogue ${t4.fid.toPrecision(3)} (${(t4.fid / t64.fid).toFixed(2)}x its 64-step value), against ${s4.fid.toPrecision(3)} for the 4-step student.`,
  ].join('\n') : '';
  return `Guidance scale s = ${guidance} for every row; DDIM; ${count} images per row (one per emoji caption, spread over the set, the same seeds for every row); ` +
    `times are the best of ${runs} single-image requests per row through the text-to-image pipeline (rows timed round-robin, sessions already open, ONNX Runtime intra-op threads: ${m.threads}; a request = text encoder, UNet steps, VAE decoder, PNG). ` +
    `Machine: ${m.cores} x ${m.cpu}; 1-minute load average ${m.loadAverage.start.toFixed(1)} when the timing began and ${m.loadAverage.end.toFixed(1)} when it ended (above ${m.cores}, other work competed for the cores and wall time is noisy). ` +
    `The CPU time the request used is the stable measure and the speed-up column uses it.\n\n${head}\n${body}\n\n${goals}\n`;
}

async function main(): Promise<void> {
  const guidance = Number(a.guidance), count = Number(a.count), runs = Number(a['timing-runs']);
  const out = resolve(a.out!);
  mkdirSync(out, { recursive: true });
  const rows: Row[] = [];
  const grid: Array<{ label: string; rgb: Uint8Array; size: number }> = [];
  const only = a['metrics-only'];
  if (only) { // e.g. --metrics-only teacher: fill the metrics cache for those rows, write nothing else
    for (const c of configs().filter((x) => x.label.startsWith(only))) console.log(c.label, await metrics(c.model, c.steps, guidance, count));
    return;
  }
  for (const c of configs()) {
    const guided = !!loadModelFolder(c.model).distill;
    const e = await metrics(c.model, c.steps, guidance, count);
    rows.push({ label: c.label, model: c.model, steps: c.steps, guided, extra: c.extra, unetEvals: c.steps * (guided || guidance <= 1 ? 1 : 2), fid: e.fid, clipScore: e.clipScore, objectAccuracy: e.objectAccuracy, variety: e.variety, msPerImage: NaN, ortMsPerImage: NaN, cpuMsPerImage: NaN });
    grid.push({ label: c.label, ...(await gridRow(c.model, c.steps, guidance)) });
    console.log(`${c.label}: FID ${e.fid.toPrecision(3)} CLIP ${e.clipScore.toFixed(3)} acc ${(100 * e.objectAccuracy).toFixed(1)}%`);
  }
  const loadAtStart = loadavg()[0];
  const times = await timings(rows, guidance, runs);
  rows.forEach((r, i) => {
    r.msPerImage = times[i].ms;
    r.ortMsPerImage = times[i].ortMs;
    r.cpuMsPerImage = times[i].cpuMs;
    console.log(`${r.label}: ${r.msPerImage.toFixed(1)} ms/image (ORT ${r.ortMsPerImage.toFixed(1)} ms, CPU ${r.cpuMsPerImage.toFixed(1)} ms)`);
  });
  // The same two rows the goal compares, in requests of 8 images (one batch): per-image costs that do
  // not depend on the step count (text encoder, model look-up) are shared, as when a user asks for 8.
  const pair = [rows[0], rows.find((r) => r.guided && r.steps === 4 && !r.extra)!];
  const batched = await timings(pair, guidance, runs, 8);
  const batch8 = { teacherCpuMs: batched[0].cpuMs, studentCpuMs: batched[1].cpuMs };
  console.log(`8 images per request: teacher ${batch8.teacherCpuMs.toFixed(2)} ms/image, 4-step student ${batch8.studentCpuMs.toFixed(2)} ms/image`);
  const ranOn = machine(loadAtStart);
  await writeGrid(grid, join(out, 'grid.png'));
  writeFileSync(join(out, 'quality.svg'), plot(rows));
  writeFileSync(join(out, 'results.json'), `${JSON.stringify({ guidance, count, rows, batch8, machine: ranOn, created: new Date().toISOString() }, null, 2)}\n`);
  const doc = resolve(a.doc!);
  const text = readFileSync(doc, 'utf8');
  const begin = `<!-- ${a.section}:begin -->`, end = `<!-- ${a.section}:end -->`;
  const images = relative(dirname(doc), out);
  const i = text.indexOf(begin), j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${doc} has no ${begin} ... ${end} section`);
  const section = `${begin}\n${table(rows, guidance, count, runs, batch8, ranOn)}\n![FID-analogue against UNet evaluations](${images}/quality.svg)\n\n![The same prompts and seeds for every row](${images}/grid.png)\n${end}`;
  writeFileSync(doc, text.slice(0, i) + section + text.slice(j + end.length));
  console.log(`wrote ${doc}, ${join(out, 'grid.png')}, ${join(out, 'quality.svg')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
