import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  formatParameters,
  insertTextChunk,
  parseParameters,
  readTextChunks,
  type GenerationParameters,
} from '../../../src/sidecar/io/png-metadata';

const params: GenerationParameters = {
  prompt: 'a red cat, smiling',
  negativePrompt: 'blurry',
  steps: 20,
  sampler: 'Euler a',
  cfgScale: 7.5,
  seed: 1234,
  width: 64,
  height: 32,
  model: 'tiny-sd',
  modelHash: '0123456789',
  extra: { 'Denoising strength': 0.75, Note: 'a, b: c' },
};

const png = () => sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).png().toBuffer();

test('formats the A1111 parameters text and parses it back', () => {
  const text = formatParameters(params);
  assert.equal(
    text,
    'a red cat, smiling\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 1234, Size: 64x32, ' +
      'Model hash: 0123456789, Model: tiny-sd, Denoising strength: 0.75, Note: "a, b: c"',
  );
  const back = parseParameters(text);
  assert.equal(back.prompt, params.prompt);
  assert.equal(back.negativePrompt, 'blurry');
  assert.equal(back.fields.Seed, '1234');
  assert.equal(back.fields['CFG scale'], '7.5');
  assert.equal(back.fields.Note, 'a, b: c');
  assert.equal(parseParameters(formatParameters({ ...params, negativePrompt: '' })).negativePrompt, '');
});

test('the parameters chunk sits right after IHDR and sharp reports it', async () => {
  const text = formatParameters(params);
  const out = insertTextChunk(await png(), 'parameters', text);
  assert.equal(out.toString('latin1', 12, 16), 'IHDR');
  assert.equal(out.toString('latin1', 8 + 25 + 4, 8 + 25 + 8), 'tEXt'); // IHDR chunk is 25 bytes long
  const meta = await sharp(out).metadata();
  assert.deepEqual(meta.comments, [{ keyword: 'parameters', text }]);
  assert.equal(readTextChunks(out).parameters, text);
  // The pixels are untouched.
  const raw = await sharp(out).raw().toBuffer();
  assert.deepEqual([...raw.subarray(0, 3)], [255, 0, 0]);
});

test('non-Latin-1 prompts go into an iTXt chunk and round-trip as UTF-8', async () => {
  const text = formatParameters({ ...params, prompt: 'кот 🐱' });
  const out = insertTextChunk(await png(), 'parameters', text);
  assert.equal(out.toString('latin1', 37, 41), 'iTXt');
  assert.equal(readTextChunks(out).parameters, text);
});

test('refuses what is not a PNG', () => {
  assert.throws(() => insertTextChunk(Buffer.from('GIF89a......'), 'parameters', 'x'), /not a PNG/);
  assert.throws(() => readTextChunks(Buffer.from('hello world')), /not a PNG/);
});
