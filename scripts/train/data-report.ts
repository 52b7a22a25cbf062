/**
 * The next embedded model's data, prepared and counted: rasterises the multi-style emoji set into
 * .cache/data/styles-<size>/ (resumable per style; later runs read the cache), prepares the MNIST split,
 * prints the counts docs/BENCHMARKS.md quotes (and checks name matching against the code-point map where
 * both exist) and writes docs/images/styles-sheet.png (a few emoji in
 * every style, for a person to check the cross-set matching).
 *
 *   npx tsx scripts/train/data-report.ts [--size 64] [--cache .cache/data] [--sheet docs/images/styles-sheet.png]
 */
import { Command } from 'commander';
import { EMOJI_STYLES, findIcons, loadStyleSets, loadStyledEmoji, sampleToCHW, styleCounts } from '../../src/sidecar/train/data/emoji-styles';
import { selectEntries } from '../../src/sidecar/train/data/emoji';
import { loadMnist } from '../../src/sidecar/train/data/mnist';
import { writeSampleGrid } from './grid';

async function main(): Promise<void> {
  const o = new Command()
    .option('--size <n>', 'image size', '64')
    .option('--cache <dir>', 'cache folder', '.cache/data')
    .option('--sheet <png>', 'contact sheet to write', 'docs/images/styles-sheet.png')
    .parse().opts<{ size: string; cache: string; sheet: string }>();
  const size = Number(o.size);
  const t0 = Date.now();
  const ds = await loadStyledEmoji({
    size, cacheDir: o.cache,
    onStyle: (s, n, cached) => console.log(`${s.id.padEnd(18)} ${String(n).padStart(5)} ${cached ? '(cache)' : `rasterised, ${((Date.now() - t0) / 1000).toFixed(0)} s so far`}`),
  });
  const { perStyle, atLeast } = styleCounts(ds);
  console.log(JSON.stringify({ size, emoji: ds.emoji.length, samples: ds.samples.length, perStyle, emojiWithAtLeastKStyles: atLeast }));

  // Name matching checked where a code-point map exists: match the set by name alone (Unicode and
  // short names, no sibling map) and compare with chars.json (aliases resolved to the drawing they show).
  const sets = loadStyleSets();
  const entries = selectEntries(), codes = ds.emoji.map((e) => e.code);
  for (const id of ['fluent-emoji-flat', 'twemoji']) {
    const set = sets.get(id)!;
    const drawing = (n: string): string => { const a = set.icons.aliases?.[n]; return a && Object.keys(a).length === 1 ? drawing(a.parent) : n; };
    const byName = findIcons(entries, codes, { ...EMOJI_STYLES.find((s) => s.id === id)!, match: 'name', namesFrom: [] }, sets);
    const both = codes.map((c, i) => [set.chars.get(c), byName[i]]).filter(([a, b]) => a && b) as [string, string][];
    const agree = both.filter(([a, b]) => drawing(a) === drawing(b)).length;
    console.log(JSON.stringify({ nameMatchCheck: id, both: both.length, agree, misses: both.filter(([a, b]) => drawing(a) !== drawing(b)).map(([a, b]) => `${a} -> ${b}`) }));
  }

  const mnist = await loadMnist({ size, cacheDir: o.cache });
  const perDigit = (split: 'train' | 'heldOut') => Array.from({ length: 10 }, (_, d) => mnist[split].filter((i) => mnist.labels[i] === d).length);
  console.log(JSON.stringify({ mnist: { train: mnist.train.length, heldOut: mnist.heldOut.length, trainPerDigit: perDigit('train'), heldOutPerDigit: perDigit('heldOut') } }));

  // Contact sheet: 8 emoji that every style draws (spread over the list), one column per style.
  const all = ds.emoji.map((_, i) => i).filter((i) => ds.samples.filter((x) => x.emoji === i).length === ds.styles.length);
  const rows = Array.from({ length: 8 }, (_, r) => all[Math.floor((r * all.length) / 8)]);
  const picks = rows.flatMap((e) => ds.styles.map((_, s) => ds.samples.findIndex((x) => x.emoji === e && x.style === s)));
  const per = 3 * size * size;
  const images = new Float32Array(picks.length * per);
  picks.forEach((k, j) => sampleToCHW(ds, k, images, j * per));
  const labels = picks.map((k) => `${ds.emoji[ds.samples[k].emoji].object.slice(0, 14)} / ${ds.styles[ds.samples[k].style].words[0]}`);
  await writeSampleGrid(images, size, labels, ds.styles.length, o.sheet, 2);
  console.log(`wrote ${o.sheet} (${((Date.now() - t0) / 1000).toFixed(1)} s in all)`);
}

main().catch((e) => { console.error(e); process.exit(1); });
