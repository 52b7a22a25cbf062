// PNG info without VS Code: a PNG's parameters read with the protocol's one reader, and what
// "Re-run with these parameters" fills into the side panel (each value checked, the rest named).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseParameters } from '../../../src/protocol';
import { fillFromInfo, readPngInfo } from '../../../src/extension/pngInfo/pngInfo';
import { formatParameters, insertTextChunk } from '../../../src/sidecar/io/png-metadata';

const root = join(__dirname, '..', '..', '..');
const A1111 = join(root, 'test', 'fixtures', 'png-info', 'a1111-lighthouse.png');
const PLAIN = join(root, 'node_modules', 'emoji-datasource-google', 'img', 'google', '64', '1f431.png');
const models = [{ id: 'emoji-base', name: 'emoji-base' }, { id: '/ws/models/tiny-sd', name: 'tiny-sd' }];

test('another tool\'s PNG: prompt, negative prompt and fields; the sampler with its schedule type; an unknown model is named, not applied', () => {
  const info = readPngInfo(A1111);
  assert.equal(info.prompt, 'a watercolor painting of a lighthouse, dramatic sky');
  assert.equal(info.negativePrompt, 'blurry, lowres');
  assert.equal(info.fields.Version, 'v1.9.4');
  const fill = fillFromInfo(info, models);
  assert.deepEqual(fill.settings, {
    negativePrompt: 'blurry, lowres', steps: 28, guidanceScale: 6.5, seed: 1234567, seedMode: 'fixed', scheduler: 'dpmpp_2m_karras', size: 512,
  });
  assert.equal(fill.skipped.length, 1);
  assert.match(fill.skipped[0], /^Model "v1-5-pruned-emaonly": not in the model list/);
});

test('this project\'s own parameters fill back exactly, the model found by its folder name', () => {
  const text = formatParameters({ prompt: 'a cat', negativePrompt: '', steps: 3, sampler: 'Euler a', cfgScale: 4, seed: 9, width: 32, height: 32, model: 'tiny-sd', modelHash: 'abc' });
  const fill = fillFromInfo(parseParameters(text), models);
  assert.deepEqual(fill, {
    prompt: 'a cat',
    settings: { negativePrompt: '', steps: 3, guidanceScale: 4, seed: 9, seedMode: 'fixed', scheduler: 'euler_a', size: 32, model: '/ws/models/tiny-sd' },
    skipped: [],
  });
});

test('values that do not fit are left out, each named with the reason', () => {
  const fill = fillFromInfo({ prompt: 'x', negativePrompt: '', fields: { Steps: '5000', 'CFG scale': 'lots', Seed: '-1', Sampler: 'Restart', Size: '512x768' } }, models);
  assert.deepEqual(fill.settings, { negativePrompt: '' });
  assert.equal(fill.skipped.length, 5, fill.skipped.join('\n'));
  assert.match(fill.skipped.join('\n'), /Steps "5000": .*1000/);
  assert.match(fill.skipped.join('\n'), /Sampler "Restart": not a sampler this extension has/);
  assert.match(fill.skipped.join('\n'), /Size 512x768: the side panel sets square sizes only/);
});

test('a PNG without parameters, a file that is no PNG and a missing file are errors naming the file', () => {
  assert.throws(() => readPngInfo(PLAIN), /1f431\.png has no "parameters" text chunk/);
  const dir = mkdtempSync(join(tmpdir(), 'ds-pnginfo-'));
  writeFileSync(join(dir, 'notes.png'), 'hello');
  assert.throws(() => readPngInfo(join(dir, 'notes.png')), /notes\.png: not a PNG file/);
  assert.throws(() => readPngInfo(join(dir, 'gone.png')), /gone\.png cannot be read \(ENOENT\)/);
  // A chunk inserted into a real PNG reads back.
  writeFileSync(join(dir, 'ok.png'), insertTextChunk(readFileSync(PLAIN), 'parameters', 'p\nSteps: 1, Sampler: DDIM, Seed: 2'));
  assert.equal(readPngInfo(join(dir, 'ok.png')).fields.Sampler, 'DDIM');
});
