// Imagic end to end on the tiny SD-layout fixture: PNGs with the parameters chunk, the input file
// untouched, the cache skipping both trained stages when only eta or the seed change, cancellation
// at any stage leaving nothing behind, and the sidecar's edit job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readTextChunks, parseParameters } from '../../../src/sidecar/io/png-metadata';
import { runImagic, ImagicCancelledError, type ImagicProgress, type ImagicRequest } from '../../../src/sidecar/pipelines/imagic/imagic';
import { runJob } from '../../../src/sidecar/jobs/registry';
import { SidecarError } from '../../../src/protocol';
import type { JobContext, ProgressUpdate } from '../../../src/sidecar/jobs/contract';

const fixtures = join(__dirname, '..', '..', 'fixtures');
const model = join(fixtures, 'tiny-sd');
const image = join(fixtures, 'images', 'photo.webp');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const tmp = () => mkdtempSync(join(tmpdir(), 'imagic-'));

function request(over: Partial<ImagicRequest>): ImagicRequest {
  return { model, image, prompt: 'a red cat', etas: [0, 1], seed: 5, steps: 4, embeddingSteps: 6, finetuneSteps: 6, ...over };
}

/** Progress events, and how many training steps each stage actually ran. */
function recorder() {
  const events: ImagicProgress[] = [];
  const trained = () => ({
    embedding: events.filter((e) => e.stage === 'embedding' && !e.cached).length,
    finetune: events.filter((e) => e.stage === 'finetune' && !e.cached).length,
  });
  return { events, trained, onProgress: (p: ImagicProgress) => events.push(p) };
}

test('an edit writes one PNG per eta and a contact sheet, with parameters embedded; the input is untouched', async () => {
  const before = sha(image);
  const out = tmp();
  const rec = recorder();
  const r = await runImagic(request({ out, cacheDir: tmp() }), { onProgress: rec.onProgress });
  assert.equal(sha(image), before, 'the input file must not change');
  assert.equal(r.files.length, 2);
  assert.deepEqual(rec.trained(), { embedding: 6, finetune: 6 });
  for (const [k, f] of r.files.entries()) {
    const meta = await sharp(f).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [64, 64, 'png']);
    const p = parseParameters(readTextChunks(readFileSync(f)).parameters);
    assert.equal(p.prompt, 'a red cat');
    assert.equal(p.fields['Imagic eta'], String(r.etas[k]));
    assert.equal(p.fields.Seed, '5');
    assert.equal(p.fields['Imagic source'], 'photo.webp');
    assert.equal(p.fields['Imagic source hash'], before.slice(0, 10));
  }
  assert.ok(r.contactSheet && existsSync(r.contactSheet));
  assert.ok(readTextChunks(readFileSync(r.contactSheet)).parameters.includes('Imagic eta: 0 1'));
  const sheet = await sharp(r.contactSheet).metadata();
  assert.equal(sheet.width, 3 * 128, 'input + two etas, 128 px cells');
});

test("a model folder's edit defaults (model_index.json defaults.edit) set guidance and training steps; a bad one is refused by name", async () => {
  const dir = join(tmp(), 'tiny-edit');
  cpSync(model, dir, { recursive: true });
  const indexFile = join(dir, 'model_index.json');
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(indexFile, JSON.stringify({ ...index, defaults: { edit: { guidance_scale: 1.25, embedding_steps: 3, finetune_steps: 2 } } }));
  const rec = recorder();
  const r = await runImagic(request({ model: dir, out: tmp(), cacheDir: tmp(), embeddingSteps: undefined, finetuneSteps: undefined }), { onProgress: rec.onProgress });
  assert.deepEqual(rec.trained(), { embedding: 3, finetune: 2 });
  assert.equal(parseParameters(readTextChunks(readFileSync(r.files[0])).parameters).fields['CFG scale'], '1.25');
  const asked = await runImagic(request({ model: dir, out: tmp(), cacheDir: tmp(), guidanceScale: 4 }), {});
  assert.equal(parseParameters(readTextChunks(readFileSync(asked.files[0])).parameters).fields['CFG scale'], '4', 'the request wins over the folder');
  writeFileSync(indexFile, JSON.stringify({ ...index, defaults: { edit: { train_batch: 0 } } }));
  await assert.rejects(runImagic(request({ model: dir, out: tmp(), cacheDir: tmp() }), {}), /"edit"\.train_batch must be an integer from 1 to 64, got 0/);
  writeFileSync(indexFile, JSON.stringify({ ...index, defaults: { edit: { embedding_steps: -1 } } }));
  await assert.rejects(runImagic(request({ model: dir, out: tmp(), cacheDir: tmp() }), {}), /model_index\.json: "defaults"\."edit"\.embedding_steps must be an integer from 0 to 100000, got -1/);
});

test('changing eta or the seed re-samples from the cache without training; outputs never overwrite', async () => {
  const cacheDir = tmp();
  const out = tmp();
  const first = recorder();
  await runImagic(request({ out, cacheDir, etas: [0.5] }), { onProgress: first.onProgress });
  assert.deepEqual(first.trained(), { embedding: 6, finetune: 6 });
  const second = recorder();
  const r = await runImagic(request({ out, cacheDir, etas: [0.5, 0.9], seed: 6 }), { onProgress: second.onProgress });
  assert.deepEqual(second.trained(), { embedding: 0, finetune: 0 });
  assert.deepEqual(second.events.filter((e) => e.cached).map((e) => e.stage), ['embedding', 'finetune']);
  assert.ok(r.train.embeddingCached && r.train.finetuneCached);
  const again = recorder();
  const r2 = await runImagic(request({ out, cacheDir, etas: [0.5] }), { onProgress: again.onProgress });
  assert.deepEqual(again.trained(), { embedding: 0, finetune: 0 });
  assert.match(r2.files[0], /-1\.png$/, 'the same name again gets a number, never overwrites');
  // A different fine-tuning setting keeps stage 1 and retrains stage 2 only.
  const other = recorder();
  await runImagic(request({ out, cacheDir, etas: [0.5], finetuneSteps: 3 }), { onProgress: other.onProgress });
  assert.deepEqual(other.trained(), { embedding: 0, finetune: 3 });
});

for (const stage of ['embedding', 'finetune', 'sample'] as const) {
  test(`cancelling during ${stage} stops the edit, writes no image and caches no unfinished stage`, async () => {
    const out = tmp();
    const cacheDir = tmp();
    let seen = 0;
    const r = runImagic(request({ out, cacheDir }), {
      onProgress: (p) => { if (p.stage === stage) seen++; },
      isCancelled: () => seen >= 2,
    });
    await assert.rejects(r, ImagicCancelledError);
    assert.deepEqual(readdirSync(out), []);
    const cachedFiles = readdirSync(cacheDir, { recursive: true }).map(String).filter((f) => f.endsWith('.safetensors'));
    const expected = { embedding: [], finetune: ['embedding'], sample: ['embedding', 'unet'] }[stage];
    assert.deepEqual(cachedFiles.map((f) => f.split('/').pop()!.replace('.safetensors', '')).sort(), expected);
  });
}

function context(cancelAfter = Infinity): { ctx: JobContext; updates: ProgressUpdate[] } {
  const updates: ProgressUpdate[] = [];
  const ctx = {
    jobId: 'j1', executionProviders: ['cpu'], intraOpNumThreads: 1,
    isCancelled: () => updates.length >= cancelAfter,
    cancelled: () => new SidecarError('cancelled', 'cancelled'),
    onProgress: (u: ProgressUpdate) => updates.push(u),
    log: () => {},
  } as JobContext;
  return { ctx, updates };
}

test('the sidecar edit job publishes the PNGs with stage progress, the loss as a metric and sampling previews', async () => {
  const outputDir = tmp();
  process.env.DIFFUSION_STUDIO_CACHE = tmp();
  const { ctx, updates } = context();
  const r = await runJob('edit', { model, image, prompt: 'a red cat', etas: [0.3], seed: 1, steps: 3, embeddingSteps: 3, finetuneSteps: 3, outputDir, previewEvery: 1 }, ctx);
  assert.equal(r.files.length, 1);
  assert.ok(r.files[0].path.startsWith(outputDir) && existsSync(r.files[0].path));
  assert.deepEqual(readdirSync(outputDir).filter((n) => n.startsWith('.partial')), []);
  assert.deepEqual([...new Set(updates.map((u) => u.stage))], ['prepare', 'embedding', 'finetune', 'sample', 'save']);
  assert.ok(updates.some((u) => u.stage === 'embedding' && typeof u.metrics?.loss === 'number'));
  const previews = updates.filter((u) => u.preview);
  // tiny-sd's own scheduler is SD 1.x's PNDMScheduler (read since issue 14): PLMS evaluates the UNet
  // n + 1 = 4 times for 3 steps, so previews come after evaluations 1, 2 and 3 of 4 (was 2 of 3 with DPM++ 2M).
  assert.equal(previews.length, 3, 'a preview after sampling evaluations 1, 2 and 3 of 4');
  assert.equal((await sharp(Buffer.from(previews[0].preview!)).metadata()).format, 'png');
  const bad = context();
  await assert.rejects(runJob('edit', { model, image: join(fixtures, 'images', 'empty.png'), prompt: 'x', outputDir }, bad.ctx),
    (e: unknown) => e instanceof SidecarError && e.code === 'image_invalid' && /empty/.test(e.message));
  const cancel = context(3);
  await assert.rejects(runJob('edit', { model, image, prompt: 'a dog', outputDir, embeddingSteps: 50 }, cancel.ctx), (e: unknown) => e instanceof SidecarError && e.code === 'cancelled');
});

test('tune "lora": only the adapters are trained and cached, and sampling uses them', async () => {
  const cacheDir = tmp();
  const rec = recorder();
  const r = await runImagic(request({ out: tmp(), cacheDir, tune: 'lora', loraRank: 2, etas: [0] }), { onProgress: rec.onProgress });
  assert.equal(r.train.tune, 'lora');
  assert.deepEqual(rec.trained(), { embedding: 6, finetune: 6 });
  const unetFile = readdirSync(cacheDir, { recursive: true }).map(String).find((f) => f.endsWith('unet.safetensors'))!;
  const names = Object.keys(JSON.parse(readFileSync(join(cacheDir, unetFile)).subarray(8, 8 + Number(readFileSync(join(cacheDir, unetFile)).readBigUInt64LE(0))).toString()));
  assert.ok(names.filter((n) => n !== '__metadata__').every((n) => /\.lora_[AB]$/.test(n)), `only adapters cached: ${names.join(', ')}`);
  const full = await runImagic(request({ out: tmp(), cacheDir, tune: 'full', etas: [0] }));
  assert.notDeepEqual(Array.from(full.outputs[0]), Array.from(r.outputs[0]), 'full and LoRA fine-tuning are different cache entries');
});

test('a guided student or an empty prompt is refused with a message saying why', async () => {
  await assert.rejects(runImagic(request({ model: join(fixtures, 'tiny-sd-guided'), out: tmp(), cacheDir: tmp() })), /guided student .* base model/);
  await assert.rejects(runImagic(request({ prompt: '  ', out: tmp(), cacheDir: tmp() })), /needs a target prompt/);
  await assert.rejects(runImagic(request({ etas: [3], out: tmp(), cacheDir: tmp() })), /eta must be a number from 0 to 2, got 3/);
});

test('a cache that cannot be written costs a warning, not the edit whose training finished', async () => {
  const out = tmp();
  const blocker = join(tmp(), 'not-a-folder');
  writeFileSync(blocker, 'a file where the cache folder should be');
  const warnings: string[] = [];
  const r = await runImagic(request({ out, cacheDir: join(blocker, 'imagic'), etas: [0.5] }), { onWarning: (m) => warnings.push(m) });
  assert.equal(r.files.length, 1);
  assert.ok(existsSync(r.files[0]), 'the edited image was written');
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0], /could not keep the trained embedding stage in the Imagic cache .*not-a-folder.*the edit goes on/);
  assert.match(warnings[1], /finetune stage/);
});
