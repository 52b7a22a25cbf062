/** The 4x4 sample grid of docs/ : 16 prompts through the exported folder, seeded. */
import { loadModelFolder } from '../../src/sidecar/io/model-folder';
import { openModel } from '../../src/sidecar/pipelines/model-sessions';
import { sampleImages } from '../../src/sidecar/pipelines/eval/sample';
import { writeSampleGrid } from './grid';
import { loadEmojiDataset, imageToCHW } from '../../src/sidecar/train/data/emoji';

export const GRID_PROMPTS = [
  'a graceful swan', 'a cat face', 'a red apple', 'a pizza',
  'a rocket', 'a sunflower', 'a guitar', 'a house',
  'an octopus', 'a snowman', 'a ghost', 'a birthday cake',
  'a fire engine', 'a frog', 'a crescent moon', 'a soccer ball',
];

export async function writeSamples(dir: string, path: string, seed = 1): Promise<void> {
  const model = await openModel(loadModelFolder(dir), {});
  const { images, size } = await sampleImages(model, GRID_PROMPTS, { steps: 20, guidance: 2, scheduler: 'ddim', seed });
  await writeSampleGrid(images, size, GRID_PROMPTS, 4, path);
}

/** The real emoji behind GRID_PROMPTS, same layout (docs/embedded-real.png), to compare by eye. */
export async function writeRealGrid(path: string): Promise<void> {
  const ds = await loadEmojiDataset('.cache/data');
  const per = 3 * ds.size * ds.size;
  const px = new Float32Array(GRID_PROMPTS.length * per);
  GRID_PROMPTS.forEach((p, k) => {
    const i = ds.items.findIndex((x) => x.captions.includes(p));
    if (i < 0) throw new Error(`no emoji is captioned "${p}"`);
    imageToCHW(ds, i, px, k * per);
  });
  await writeSampleGrid(px, ds.size, GRID_PROMPTS, 4, path);
}
