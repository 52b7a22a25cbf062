import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkImage, IMAGE_DECODE_SLOTS, imageDecodes } from '../../../src/sidecar/server/inputs';

/** A noisy PNG (noise does not compress, so decoding it takes real time). */
async function writeNoise(path: string, side: number): Promise<void> {
  await sharp({ create: { width: side, height: side, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .png({ compressionLevel: 0 })
    .toFile(path);
}

test('many concurrent image checks never decode more than the bound at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-decode-'));
  try {
    const paths = Array.from({ length: 12 }, (_, i) => join(dir, `in-${i}.png`));
    await Promise.all(paths.map((p) => writeNoise(p, 768)));
    const peakSeen: number[] = [];
    const poll = setInterval(() => peakSeen.push(imageDecodes().active), 1);
    const facts = await Promise.all(paths.map((p) => checkImage(p)));
    clearInterval(poll);
    assert.equal(facts.length, 12);
    assert.ok(facts.every((f) => f.width === 768 && f.format === 'png'), 'every image was checked in full');
    const { peak, active } = imageDecodes();
    console.log(`# ${paths.length} concurrent checks: at most ${peak} decodes at once (bound ${IMAGE_DECODE_SLOTS})`);
    assert.ok(peak <= IMAGE_DECODE_SLOTS, `${peak} decodes ran at once; the bound is ${IMAGE_DECODE_SLOTS}`);
    assert.ok(Math.max(0, ...peakSeen) <= IMAGE_DECODE_SLOTS);
    assert.equal(peak, IMAGE_DECODE_SLOTS, 'with 12 waiting, every slot was used');
    assert.equal(active, 0, 'every slot was given back');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed decode gives its slot back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-decode-'));
  try {
    const good = join(dir, 'good.png');
    await writeNoise(good, 64);
    const { writeFileSync, readFileSync } = await import('node:fs');
    const truncated = join(dir, 'truncated.png');
    writeFileSync(truncated, readFileSync(good).subarray(0, 2000));
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => checkImage(truncated)));
    assert.ok(results.every((r) => r.status === 'rejected' && /damaged or truncated/.test(String(r.reason))));
    assert.equal(imageDecodes().active, 0);
    assert.equal((await checkImage(good)).width, 64, 'the slots are free again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
