/**
 * Where an FID-analogue comes from. For a few models sampled on eval's prompts and seeds (the same
 * images `diffusion-studio eval` draws), prints each set's Fréchet distance to the real drawings with
 * its mean term, its mean absolute pixel difference from the first set, and the Fréchet distance
 * between every pair of sets: how far apart two samplers' images are in the same features, which
 * says whether a ratio of FID-analogues reflects a large change or a small one in an unlucky direction
 * (docs/DISTILLATION.md, "What held the 4-step student back").
 *
 *   npx tsx scripts/fid-anatomy.ts [--count 512] [--guidance 3] [--seed 0] <label>=<model>@<steps>[:grid] ...
 *   e.g. "teacher 64=emoji-styles@64" "teacher 32=emoji-styles@32" "student 4=emoji-styles-guided-4@4"
 *
 * Sets sample with the model's DDIM as diffusers steps it (t -> t - T // n, whatever the grid), or with
 * ":grid" with the distillation's own DDIM (distill/targets.ts gridSampler: every step lands on the
 * next timestep of the trailing grid, the trajectory students are distilled from). The two differ
 * where n does not divide T (16, 32, 64, 128 steps of 1000).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { modelRoots, packageRoot, resolveModel } from '../src/sidecar/io/model-discovery';
import { embedImages, evalPrompts, imageEncoderPath, realSet } from '../src/sidecar/pipelines/eval/evaluate';
import { fitGaussian, frechetDistance, meanTerm, type Gaussian } from '../src/sidecar/pipelines/eval/frechet';
import { sampleInBatches } from '../src/sidecar/pipelines/eval/sample';
import { meanAbs255 } from '../src/sidecar/pipelines/eval/variety';
import { nativeLatentSize } from '../src/sidecar/pipelines/core/latents';
import { gridSampler, NoiseLevels } from '../src/sidecar/pipelines/distill/targets';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { getSession } from '../src/sidecar/runtime/sessions';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { count: { type: 'string', default: '512' }, guidance: { type: 'string', default: '3' }, seed: { type: 'string', default: '0' } },
});
const BATCH = 64; // eval's default (image k uses seed + k whatever the batch)

interface SampledSet { label: string; pixels: Float32Array; gauss: Gaussian }

function parseSet(spec: string): { label: string; model: string; steps: number; grid: boolean } {
  const m = /^(.+)=(.+)@(\d+)(:grid)?$/.exec(spec);
  if (!m) throw new Error(`expected <label>=<model>@<steps>[:grid], got "${spec}"`);
  return { label: m[1], model: m[2], steps: Number(m[3]), grid: m[4] !== undefined };
}

async function main(): Promise<void> {
  if (positionals.length === 0) throw new Error('name at least one set: <label>=<model>@<steps>');
  const specs = positionals.map(parseSet);
  const seed = Number(a.seed), guidance = Number(a.guidance);
  const folder = resolveModel(specs[0].model, modelRoots([]));
  const first = await openModel(folder, {});
  const encoder = await getSession(imageEncoderPath(first), {});
  // The real set eval measures this family against (64x64: every drawing of the seven styles).
  const side = nativeLatentSize(first, 8)[0] * (folder.vaeScaleFactor ?? 8);
  const ds = await realSet(side, join(packageRoot(), '.cache', 'data'));
  const prompts = evalPrompts(ds, Number(a.count)).map((i) => ds.captions[i]);
  const all = ds.all();
  const realFeatures = await embedImages(encoder, all, ds.size, BATCH);
  const real = fitGaussian(realFeatures.features, all.length / (3 * ds.size * ds.size), realFeatures.fDim);
  const sets: SampledSet[] = [];
  for (const s of specs) {
    const model = await openModel(resolveModel(s.model, modelRoots([])), {});
    const config = model.folder.schedulerConfig;
    const sampler = s.grid ? gridSampler(config.prediction_type, new NoiseLevels(config), s.steps) : undefined;
    const { images: pixels, size } = await sampleInBatches(model, prompts, { steps: s.steps, guidance, scheduler: 'ddim', seed, sampler }, BATCH);
    const f = await embedImages(encoder, pixels, size, BATCH);
    sets.push({ label: s.label, pixels, gauss: fitGaussian(f.features, prompts.length, f.fDim) });
    console.error(`sampled ${s.label}`);
  }
  console.log(`${prompts.length} images per set, guidance ${guidance}, DDIM, seeds ${seed}..${seed + prompts.length - 1}\n`);
  console.log(`| set | FID-analogue | x first | mean term | pixel distance to ${sets[0].label} /255 | ${sets.map((s) => `Fréchet distance to ${s.label}`).join(' | ')} |`);
  console.log(`|---|---:|---:|---:|---:|${sets.map(() => '---:').join('|')}|`);
  const fid0 = frechetDistance(sets[0].gauss, real);
  for (const s of sets) {
    const fid = frechetDistance(s.gauss, real);
    const between = sets.map((o) => (o === s ? '' : frechetDistance(s.gauss, o.gauss).toFixed(5)));
    console.log(`| ${s.label} | ${fid.toFixed(5)} | ${(fid / fid0).toFixed(2)}x | ${meanTerm(s.gauss, real).toFixed(5)} | ${meanAbs255(s.pixels, sets[0].pixels).toFixed(2)} | ${between.join(' | ')} |`);
  }
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
