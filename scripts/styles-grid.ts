/**
 * `npm run grid:styles -- --model <dir> [--out docs/images] [--steps 20] [--guidance G] [--tag name]`
 * (guidance: the model's default, else 3):
 * issue 13's pictures of a 64x64 multi-style model: 8 prompts x 8 seeds without a style (do seeds give
 * different drawings?), and one grid per style (8 prompts with the style word, 4 seeds each: does the
 * word select the style?). Seeds 1..8 for every prompt, as a user would try them; DDIM.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelFolder } from '../src/sidecar/io/model-folder';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { modelDefaults } from '../src/sidecar/pipelines/request';
import { sampleImages } from '../src/sidecar/pipelines/eval/sample';
import { concatFloats } from '../src/sidecar/pipelines/tensors';
import { EMOJI_STYLES } from '../src/sidecar/train/data/emoji-styles';
import { withStyle } from '../src/sidecar/train/data/style-captions';
import { writeSampleGrid } from './train/grid';

const arg = (name: string, def?: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const MODEL = arg('--model');
const OUT = arg('--out', 'docs/images')!;
const TAG = arg('--tag', 'styles64')!;
const STEPS = Number(arg('--steps', '20'));

export const GRID_PROMPTS = ['a graceful swan', 'a red apple', 'a cat face', 'a rocket', 'a sunflower', 'a birthday cake', 'a handwritten number 7', 'a handwritten number 3'];
const STYLE_PROMPTS = GRID_PROMPTS.slice(0, 6);

async function main(): Promise<void> {
  if (!MODEL) throw new Error('--model <dir> is required');
  mkdirSync(OUT, { recursive: true });
  const folder = loadModelFolder(MODEL);
  const model = await openModel(folder, {});
  const guidance = Number(arg('--guidance', String(modelDefaults(folder).guidance_scale ?? 3)));
  const opts = { steps: STEPS, guidance, scheduler: 'ddim' as const };
  // Rows = prompts, columns = seeds 1..8 (sampleImages seeds image k with seed + k).
  const parts: Float32Array[] = [];
  let size = 0;
  for (const p of GRID_PROMPTS) {
    const r = await sampleImages(model, Array<string>(8).fill(p), { ...opts, seed: 1 });
    parts.push(r.images);
    size = r.size;
  }
  // Only a row's first cell is labelled: the prompt runs on over its empty neighbours.
  const labels = GRID_PROMPTS.flatMap((p) => Array.from({ length: 8 }, (_, s) => (s === 0 ? p : '')));
  await writeSampleGrid(concatFloats(parts), size, labels, 8, join(OUT, `${TAG}-seeds.png`), 2, 'start');
  for (const style of EMOJI_STYLES) {
    const prompts = STYLE_PROMPTS.map((p) => withStyle(p, style));
    const imgs: Float32Array[] = [];
    for (const p of prompts) imgs.push((await sampleImages(model, Array<string>(4).fill(p), { ...opts, seed: 1 })).images);
    const styleLabels = prompts.flatMap((p) => [p, '', '', '']);
    await writeSampleGrid(concatFloats(imgs), size, styleLabels, 8, join(OUT, `${TAG}-style-${style.id}.png`), 2, 'start');
  }
  console.log(`wrote ${join(OUT, `${TAG}-seeds.png`)} and ${EMOJI_STYLES.length} style grids`);
}

void main().catch((err: unknown) => { console.error(err); process.exit(1); });
