/**
 * Writes the prepared emoji set for the PyTorch reference (scripts/train/reference.py): pixels
 * (.cache/data/emoji-32-N.u8, HWC uint8) plus the token ids of every caption, tokenised with the
 * shipped tokenizer, so both trainers see exactly the same data. Usage: npx tsx scripts/train/export-dataset.ts
 */
import { writeFileSync } from 'node:fs';
import { loadEmojiDataset } from '../../src/sidecar/train/data/emoji';
import { buildTokenizer, loadTokenizer, encodePrompts, MAX_LENGTH } from '../../src/sidecar/train/data/tokenizer';

async function main(): Promise<void> {
  const ds = await loadEmojiDataset('.cache/data');
  const files = buildTokenizer(ds.items.flatMap((x) => [...x.captions, x.broad ?? '']));
  const tok = loadTokenizer(files);
  const ids = (p: string) => [...encodePrompts(tok, [p], MAX_LENGTH)].map(Number);
  const out = {
    n: ds.items.length,
    size: ds.size,
    pixels: `.cache/data/emoji-${ds.size}-${ds.items.length}.u8`,
    vocab: Object.keys((files.tokenizer.model as { vocab: object }).vocab).length,
    empty: ids(''),
    items: ds.items.map((x) => ({ object: x.object, captions: x.captions.map(ids), broad: x.broad ? ids(x.broad) : null })),
  };
  writeFileSync('.cache/data/emoji-train.json', JSON.stringify(out));
  console.log(`wrote .cache/data/emoji-train.json (${out.n} items, vocab ${out.vocab})`);
}
void main();
