import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMOJI_BASE, EMOJI_STYLES_64 } from '../../../src/sidecar/nn';
import { styleWords } from '../../../src/sidecar/train/data/style-captions';
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

test('eval of a 64x64 multi-style folder adds digits, styles per 8 seeds and style words, each beside its evaluator\'s ceiling', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval64-'));
  try {
    const items = emojiItems();
    const tokenizer = buildTokenizer([...items.flatMap((x) => x.captions), 'a handwritten number 7', 'flat style'], 16, styleWords());
    const vocab = Object.keys((tokenizer.tokenizer.model as { vocab: object }).vocab).length;
    const cfg = { ...EMOJI_STYLES_64, vocab };
    const weights = Object.fromEntries(COMPONENTS.map((c) => [c, graphWeights(componentGraph(c, cfg, 3))])) as FamilyWeights;
    writeFamilyFolder({ dir, cfg, weights, scalingFactor: 1, tokenizer, defaults: { steps: 1, guidance_scale: 2, scheduler: 'ddim' }, card: '# t\n' });
    const r = await evaluate({ model: dir, steps: 1, guidance: 2, scheduler: 'ddim', seed: 4, count: 8, batch: 16, varietySizes: { perDigit: 2, varietyPrompts: 2, perStyle: 4 } });
    assert.ok(r.variety, 'a 64x64 folder gets the variety section');
    const v = r.variety;
    assert.equal(v.digits.samples, 20);
    // The committed digit evaluator, fed through eval's own pixel path, reads real held-out digits as well
    // as its card says (98.5%): a wrong channel order or range would break this.
    assert.ok(v.digits.evaluatorHeldOut >= 0.97, `digit evaluator on held-out MNIST: ${v.digits.evaluatorHeldOut}`);
    assert.ok(v.styleWords.evaluatorOnReal >= 0.7, `style evaluator on real drawings: ${v.styleWords.evaluatorOnReal}`);
    assert.equal(v.styleWords.samples, 28);
    assert.equal(v.variety.prompts, 2);
    assert.ok(v.variety.meanStyles >= 1 && v.variety.meanStyles <= 8);
    // Two artists' drawings of one emoji differ a lot; that is the yardstick seeds are held to.
    assert.ok(v.variety.realPairDistance > 10, `real pair distance ${v.variety.realPairDistance}`);
    assert.ok(Number.isFinite(v.variety.distanceRatio) && v.variety.distanceRatio >= 0);
    const { variety: _ignored, ...rest } = await evaluate({ model: dir, steps: 1, guidance: 2, scheduler: 'ddim', seed: 4, count: 8, batch: 16, variety: false });
    assert.equal(rest.fid, r.fid, 'the variety measures do not change the others');
    assert.equal((rest as { variety?: unknown }).variety, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
