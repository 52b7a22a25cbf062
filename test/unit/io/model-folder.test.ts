import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder, modelHash, DEFAULT_SCALING_FACTOR } from '../../../src/sidecar/io/model-folder';
import { DEFAULT_MODEL, discoverModels, embeddedModelsDir, resolveModel } from '../../../src/sidecar/io/model-discovery';
import { writeExclusive, outputPath } from '../../../src/sidecar/io/outputs';
import { componentBytes } from '../../../src/sidecar/io/model-file';
import { loadModel, saveModel } from '../../../src/sidecar/graph';

const fixtures = join(__dirname, '..', '..', 'fixtures');
const tinySd = join(fixtures, 'tiny-sd');

function copyFixture(): string {
  const root = mkdtempSync(join(tmpdir(), 'mf-'));
  cpSync(tinySd, join(root, 'tiny-sd'), { recursive: true });
  return join(root, 'tiny-sd');
}

test('loads an SD-layout folder: components, scheduler config, VAE scale, sample size', () => {
  const m = loadModelFolder(tinySd);
  assert.equal(m.name, 'tiny-sd');
  assert.equal(m.files.unet, join(tinySd, 'unet', 'model.onnx'));
  assert.equal(m.files.vaeEncoder, join(tinySd, 'vae_encoder', 'model.onnx'));
  assert.equal(m.schedulerConfig.beta_schedule, 'scaled_linear');
  assert.equal(m.schedulerConfig.steps_offset, 1);
  assert.equal(m.scalingFactor, 0.18215);
  assert.equal(m.vaeScaleFactor, 8);
  assert.equal(m.sampleSize, 8);
  assert.equal(m.base, null);
});

test('a student with only unet/ takes the rest from its base and reads distill.json', () => {
  const m = loadModelFolder(join(fixtures, 'tiny-sd-guided'));
  assert.equal(m.base?.name, 'tiny-sd');
  assert.equal(m.files.unet, join(fixtures, 'tiny-sd-guided', 'unet', 'model.onnx'));
  assert.equal(m.files.textEncoder, join(tinySd, 'text_encoder', 'model.onnx'));
  assert.equal(m.files.tokenizerDir, join(tinySd, 'tokenizer'));
  assert.equal(m.distill?.steps, 4);
  assert.deepEqual(m.distill?.guidance_range, [1, 12]);
});

test('missing and malformed files are named in the error', () => {
  const dir = copyFixture();
  rmSync(join(dir, 'text_encoder'), { recursive: true });
  assert.throws(() => loadModelFolder(dir), new RegExp(`${join(dir, 'text_encoder', 'model.onnx')}: is missing`));
  const dir2 = copyFixture();
  writeFileSync(join(dir2, 'scheduler', 'scheduler_config.json'), '{"beta_schedule": "quadratic"}');
  assert.throws(() => loadModelFolder(dir2), /scheduler_config.json: beta_schedule/);
  const dir3 = copyFixture();
  writeFileSync(join(dir3, 'model_index.json'), '[1, 2');
  assert.throws(() => loadModelFolder(dir3), /model_index.json: is not valid JSON/);
  assert.throws(() => loadModelFolder(join(dir3, 'nope')), /nope: is not a folder/);
});

test('"base" must be a relative path to a model folder: absolute paths and non-model folders are refused by name', () => {
  const dir = copyFixture();
  const student = join(dir, '..', 'student');
  cpSync(join(fixtures, 'tiny-sd-guided'), student, { recursive: true });
  const index = (base: unknown) => writeFileSync(join(student, 'model_index.json'), JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline', base }));
  index(dir);
  assert.throws(() => loadModelFolder(student), /model_index.json: "base" must be a relative folder path, got "\/.*tiny-sd"/);
  index('../../../../etc');
  assert.throws(() => loadModelFolder(student), /etc\/model_index.json: is missing/);
  index('../tiny-sd');
  assert.equal(loadModelFolder(student).base?.dir, dir);
});

test('scaling factor from vae_decoder/config.json, else vae/config.json, else 0.18215', () => {
  const dir = copyFixture();
  writeFileSync(join(dir, 'vae_decoder', 'config.json'), JSON.stringify({ scaling_factor: 0.13025, block_out_channels: [1, 2, 3] }));
  assert.equal(loadModelFolder(dir).scalingFactor, 0.13025);
  assert.equal(loadModelFolder(dir).vaeScaleFactor, 4);
  rmSync(join(dir, 'vae_decoder', 'config.json'));
  assert.equal(loadModelFolder(dir).scalingFactor, DEFAULT_SCALING_FACTOR);
  cpSync(join(tinySd, 'vae_decoder', 'config.json'), join(dir, 'vae', 'config.json'));
  writeFileSync(join(dir, 'vae', 'config.json'), JSON.stringify({ scaling_factor: 0.5 }));
  assert.equal(loadModelFolder(dir).scalingFactor, 0.5);
});

test('discovery lists model folders under each root; names resolve; unknown names list what exists', () => {
  const found = discoverModels([fixtures]);
  assert.deepEqual(found.map((f) => f.name).sort(), ['tiny-sd', 'tiny-sd-fp16', 'tiny-sd-guided']);
  assert.ok(found.every((f) => f.problem === null));
  assert.equal(resolveModel('tiny-sd', [fixtures]).dir, tinySd);
  assert.throws(() => resolveModel('nope', [fixtures]), /no such model folder or model name \(known models: tiny-sd, tiny-sd-fp16, tiny-sd-guided/);
});

test('the default embedded model gets its own message while it is missing, and resolves once it is there', () => {
  // Roots made here, and run from an empty folder (a bare name is tried as a path first), so the
  // answer does not depend on whether the default model has been trained in this checkout.
  const root = mkdtempSync(join(tmpdir(), 'mf-default-'));
  const cwd = process.cwd();
  process.chdir(root);
  try {
    assert.throws(
      () => resolveModel(DEFAULT_MODEL, [root]),
      (err: Error) => err.message.includes(join(embeddedModelsDir(), DEFAULT_MODEL)) && new RegExp(`the embedded model ${DEFAULT_MODEL} is not trained yet .*pass --model <folder>`).test(err.message),
    );
    // Any other unknown name gets the usual listing, not the embedded model's message.
    assert.throws(() => resolveModel('emoji-other', [root]), /no such model folder or model name \(known models: none/);
    // Once a folder of that name exists under a root, the name resolves to it.
    cpSync(tinySd, join(root, DEFAULT_MODEL), { recursive: true });
    assert.equal(resolveModel(DEFAULT_MODEL, [root]).dir, join(root, DEFAULT_MODEL));
  } finally {
    process.chdir(cwd);
    rmSync(root, { recursive: true, force: true });
  }
});

test('model hash: 10 hex digits over the UNet and its external data', async () => {
  const h = await modelHash(loadModelFolder(tinySd));
  assert.match(h, /^[0-9a-f]{10}$/);
  const dir = copyFixture();
  const data = readFileSync(join(dir, 'unet', 'model.onnx_data'));
  data[100] ^= 1;
  writeFileSync(join(dir, 'unet', 'model.onnx_data'), data);
  const changed = await modelHash(loadModelFolder(dir));
  assert.notEqual(changed, h);
  // Once more after the folder was read and hashed: a retrained UNet (same size) gets a new hash.
  data[200] ^= 1;
  writeFileSync(join(dir, 'unet', 'model.onnx_data'), data);
  const again = await modelHash(loadModelFolder(dir));
  assert.notEqual(again, changed);
  assert.notEqual(again, h);
});

test("model hash: a UNet whose weights sit in diffusers' weights.pb hashes them too", async () => {
  const dir = copyFixture();
  const unet = join(dir, 'unet', 'model.onnx');
  saveModel(loadModel(unet), unet, { externalData: 'weights.pb', threshold: 0 });
  rmSync(join(dir, 'unet', 'model.onnx_data'));
  const h = await modelHash(loadModelFolder(dir));
  const data = readFileSync(join(dir, 'unet', 'weights.pb'));
  data[data.length - 5] ^= 1;
  writeFileSync(join(dir, 'unet', 'weights.pb'), data);
  const changed = await modelHash(loadModelFolder(dir));
  assert.notEqual(changed, h, 'two UNets differing only in weights.pb have different hashes');
});

test('writeExclusive never overwrites: a taken name gets the next number', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'out-'));
  const p = join(dir, 'sub', 'img.png');
  assert.equal(await writeExclusive(p, Buffer.from('one')), p);
  assert.equal(await writeExclusive(p, Buffer.from('two')), join(dir, 'sub', 'img-1.png'));
  assert.equal(await writeExclusive(p, Buffer.from('three')), join(dir, 'sub', 'img-2.png'));
  assert.equal(readFileSync(p, 'utf8'), 'one');
  assert.deepEqual(readdirSync(join(dir, 'sub')).sort(), ['img-1.png', 'img-2.png', 'img.png']); // no temporary files left
  assert.equal(outputPath(dir, 'A Red cat!', 7, 0, 1), join(dir, '7-a-red-cat.png'));
  assert.equal(outputPath(join(dir, 'x.png'), 'p', 7, 1, 2), join(dir, 'x-1.png'));
});

test('a folder read again is reused until one of its files, or its base, changes', () => {
  const root = mkdtempSync(join(tmpdir(), 'mf-cache-'));
  cpSync(tinySd, join(root, 'tiny-sd'), { recursive: true });
  cpSync(join(fixtures, 'tiny-sd-guided'), join(root, 'student'), { recursive: true });
  writeFileSync(join(root, 'student', 'model_index.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(fixtures, 'tiny-sd-guided', 'model_index.json'), 'utf8')), base: '../tiny-sd' }));
  try {
    const first = loadModelFolder(join(root, 'student'));
    assert.equal(loadModelFolder(join(root, 'student')), first, 'unchanged files: the same description');
    // A user edits the student's distill.json: the next request sees it.
    writeFileSync(join(root, 'student', 'distill.json'), JSON.stringify({ kind: 'guided', steps: 2, guidance_range: [1, 3] }));
    const edited = loadModelFolder(join(root, 'student'));
    assert.equal(edited.distill?.steps, 2);
    assert.deepEqual(edited.distill?.guidance_range, [1, 3]);
    // New sampling defaults in model_index.json are what the next request resolves.
    const index = JSON.parse(readFileSync(join(root, 'student', 'model_index.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(root, 'student', 'model_index.json'), JSON.stringify({ ...index, defaults: { steps: 3, guidance_scale: 2 } }));
    assert.deepEqual(loadModelFolder(join(root, 'student')).indexDefaults, { steps: 3, guidance_scale: 2 });
    // The base gains a VAE config with another scaling factor: the student (which takes its VAE) follows.
    writeFileSync(join(root, 'tiny-sd', 'vae_decoder', 'config.json'), JSON.stringify({ scaling_factor: 0.5, block_out_channels: [8, 8] }));
    const rebased = loadModelFolder(join(root, 'student'));
    assert.equal(rebased.scalingFactor, 0.5);
    assert.equal(rebased.vaeScaleFactor, 2);
    // A component removed from the folder is reported, not served from the cache.
    rmSync(join(root, 'tiny-sd', 'vae_decoder', 'model.onnx'));
    assert.throws(() => loadModelFolder(join(root, 'student')), /vae_decoder\/model\.onnx: is missing/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a component's bytes count its weights wherever an exporter put them, not its config", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bytes-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), Buffer.alloc(1000));
    writeFileSync(join(dir, 'config.json'), '{"sample_size": 64}');
    writeFileSync(join(dir, 'weights.pb'), Buffer.alloc(50_000)); // older diffusers exports
    writeFileSync(join(dir, 'model.onnx_data'), Buffer.alloc(20_000)); // optimum's, this project's
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'other.bin'), Buffer.alloc(7));
    assert.equal(componentBytes(join(dir, 'model.onnx')), 71_000);
    assert.equal(componentBytes(join(dir, 'gone', 'model.onnx')), 0, 'an unreadable folder counts 0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
