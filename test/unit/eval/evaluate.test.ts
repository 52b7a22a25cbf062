import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMOJI_BASE } from '../../../src/sidecar/nn';
import { componentGraph, writeFamilyFolder, COMPONENTS, type FamilyWeights } from '../../../src/sidecar/nn/family';
import { graphWeights } from '../../../src/sidecar/nn/weights';
import { emojiItems } from '../../../src/sidecar/train/data/emoji';
import { buildTokenizer } from '../../../src/sidecar/train/data/tokenizer';
import { evaluate } from '../../../src/sidecar/pipelines/eval/evaluate';

test('eval is seeded (two runs agree) and reports every measure in range', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-'));
  try {
    const items = emojiItems();
    const tokenizer = buildTokenizer(items.flatMap((x) => x.captions));
    const vocab = Object.keys((tokenizer.tokenizer.model as { vocab: object }).vocab).length;
    const cfg = { ...EMOJI_BASE, vocab };
    const weights = Object.fromEntries(COMPONENTS.map((c) => [c, graphWeights(componentGraph(c, cfg, 3))])) as FamilyWeights;
    writeFamilyFolder({ dir, cfg, weights, scalingFactor: 1, tokenizer, defaults: { steps: 2, guidance_scale: 2, scheduler: 'ddim' }, card: '# t\n' });
    const opts = { model: dir, steps: 2, guidance: 2, scheduler: 'ddim' as const, seed: 4, count: 12, batch: 8 };
    const a = await evaluate(opts);
    const b = await evaluate(opts);
    assert.equal(a.images, 12);
    assert.equal(a.fid, b.fid);
    assert.equal(a.clipScore, b.clipScore);
    assert.deepEqual(a.samples, b.samples);
    assert.ok(a.fid >= 0 && Number.isFinite(a.fid));
    assert.ok(a.clipScore >= -1 && a.clipScore <= 1);
    assert.ok(a.objectAccuracy >= 0 && a.objectAccuracy <= 1);
    assert.equal(a.samples[0].prompt, items[0].captions[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
