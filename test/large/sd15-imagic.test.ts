// A whole Imagic edit on a Stable Diffusion 1.5-size folder (UNet 860 M weights, CLIP-L text encoder
// 123 M, VAE 84 M; seeded random weights from nn/sd15/folder.ts) at 8x8 latents (64x64 pixels), so it
// fits this CPU: prompt encoding, VAE encode, stage 1, stage 2 (LoRA), stage 3 and the PNGs, through
// the same runImagic the sidecar calls. Prints the stage times and the peak RSS (docs/BENCHMARKS.md).
// Writes a 4 GB folder to the temp dir and takes minutes: `npm run test:large` only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { countWeights } from '../../src/sidecar/graph';
import { writeSd15Folder } from '../../src/sidecar/nn/sd15/folder';
import { runImagic } from '../../src/sidecar/pipelines/imagic/imagic';

const peakGb = () => Number((process.resourceUsage().maxRSS / 1e6).toFixed(2));

test('SD 1.5 size: a whole Imagic edit (LoRA) runs and writes its PNGs', { timeout: 3_600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd15-imagic-'));
  try {
    const model = join(dir, 'sd15');
    let t = performance.now();
    writeSd15Folder(model, { size: 'full', latentSize: 8, tokenizerDir: 'test/fixtures/tiny-sd/tokenizer', log: (m) => console.log(`# ${m}`) });
    console.log(`# folder written in ${((performance.now() - t) / 1000).toFixed(0)} s, peak RSS ${peakGb()} GB`);
    const weights = ['unet', 'text_encoder', 'vae_encoder', 'vae_decoder'].map((c) => countWeights(join(model, c, 'model.onnx')));
    console.log(`# weights: ${weights.map((n) => `${(n / 1e6).toFixed(1)} M`).join(', ')}`);
    assert.ok(weights[0] > 850e6 && weights[1] > 120e6, 'SD 1.5 sizes');
    t = performance.now();
    const r = await runImagic({
      model, image: 'test/fixtures/images/photo.jpg', prompt: 'a dog', embeddingSteps: 3, finetuneSteps: 3, steps: 3,
      etas: [0, 0.7], out: join(dir, 'out'), cache: false,
    }, { onProgress: (p) => p.step === p.total && console.log(`# ${p.stage} done, peak RSS ${peakGb()} GB`) });
    const seconds = Object.entries(r.timings).map(([k, v]) => `${k.replace(/Ms$/, '')} ${Math.round(v / 1000)} s`);
    console.log(`# edit: ${seconds.join(', ')}; peak RSS ${peakGb()} GB`);
    assert.equal(r.train.tune, 'lora', 'LoRA by default at this size');
    assert.equal(r.files.length, 2);
    for (const f of r.files) {
      assert.ok(existsSync(f));
      const m = await sharp(f).metadata();
      assert.deepEqual([m.width, m.height], [64, 64]);
    }
    assert.ok(r.train.finetuneLoss.every(Number.isFinite));
    console.log(`# total ${((performance.now() - t) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
