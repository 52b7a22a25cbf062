// The extension's side of the shared vocabulary (no VS Code needed): which settings become request
// fields, what the side panel offers, and what a webview may send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenerateParams, SAMPLERS, WarmupParams } from '../../../src/protocol';
import { chosenSettings, madeWith, MODEL_OWN_SAMPLER, requestSettings, SCHEDULER_CHOICES } from '../../../src/extension/samplerSettings';
import { parseWebviewMessage } from '../../../webview-ui/shared/validate';

const isWebviewMessage = (m: unknown) => 'message' in parseWebviewMessage(m);

const root = join(__dirname, '..', '..', '..');
const manifestDefault = (key: string): unknown =>
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default: unknown }> } } })
    .contributes.configuration.properties[`diffusionStudio.${key}`].default;

test('settings at their package.json defaults send no guidance, steps or scheduler (the model decides)', () => {
  const untouched = { guidanceScale: manifestDefault('guidanceScale'), steps: manifestDefault('steps'), scheduler: manifestDefault('scheduler') };
  assert.equal(untouched.scheduler, MODEL_OWN_SAMPLER);
  assert.deepEqual(chosenSettings(untouched as Parameters<typeof chosenSettings>[0]), {});
});

test('chosen settings are sent as the protocol\'s ids and pass its validator', () => {
  const chosen = chosenSettings({ guidanceScale: 3.5, steps: 7, scheduler: 'euler' });
  assert.deepEqual(chosen, { guidanceScale: 3.5, steps: 7, scheduler: 'euler' });
  // Spellings from older settings.json files.
  assert.equal(chosenSettings({ guidanceScale: null, steps: null, scheduler: 'dpm++2m-karras' }).scheduler, 'dpmpp_2m_karras');
  assert.equal(chosenSettings({ guidanceScale: null, steps: null, scheduler: 'Euler a' }).scheduler, 'euler_a');
  assert.equal(GenerateParams.safeParse({ model: 'm', prompt: 'x', ...chosen }).success, true);
});

test('an unknown scheduler in settings.json is an error naming the setting and the valid ids', () => {
  assert.throws(() => chosenSettings({ guidanceScale: null, steps: null, scheduler: 'k_dpm_fast' }), /diffusionStudio\.scheduler: unknown scheduler "k_dpm_fast" \(choose one of ddim, ddpm/);
});

test('the side panel offers "the model\'s own", then every sampler of the table under its A1111 name', () => {
  assert.deepEqual(SCHEDULER_CHOICES.map((c) => c.value), [MODEL_OWN_SAMPLER, ...SAMPLERS.map((s) => s.id)]);
  assert.deepEqual(SCHEDULER_CHOICES.slice(1).map((c) => c.label), SAMPLERS.map((s) => s.label));
  assert.match(SCHEDULER_CHOICES[0].label, /Model's own \(else DPM\+\+ 2M\)/);
});

test('a re-run pins the settings an image was made with, read from its parameters (A1111 sampler name)', () => {
  assert.deepEqual(madeWith({ steps: 4, cfgScale: 7.5, sampler: 'Euler a', seed: 1 }), { steps: 4, guidanceScale: 7.5, scheduler: 'euler_a' });
  assert.deepEqual(madeWith({ eta: 0.7 }), {});
});

test('a webview may reset guidance and steps to the model\'s own (null), nothing else', () => {
  assert.equal(isWebviewMessage({ type: 'update', key: 'guidanceScale', value: null }), true);
  assert.equal(isWebviewMessage({ type: 'update', key: 'steps', value: null }), true);
  assert.equal(isWebviewMessage({ type: 'update', key: 'seed', value: null }), false);
  assert.equal(isWebviewMessage({ type: 'update', key: 'scheduler', value: null }), false);
  assert.equal(isWebviewMessage({ type: 'update', key: 'nodePath', value: null }), false);
  assert.equal(isWebviewMessage({ type: 'update', key: 'scheduler', value: 'euler_a' }), true);
});

test('the warm-up the extension asks for carries the settings its first request will have, and the sidecar accepts them', () => {
  const settings = { guidanceScale: 4, steps: 30, scheduler: 'Euler a', negativePrompt: 'blurry', size: 64, imageCount: 2 };
  const warm = requestSettings(settings);
  assert.deepEqual(warm, { count: 2, previewEvery: 3, steps: 30, guidanceScale: 4, scheduler: 'euler_a', negativePrompt: 'blurry', width: 64, height: 64 });
  assert.equal(WarmupParams.safeParse(warm).success, true);
  // A distilled student samples with its own step count, in its requests and so in its warm-up.
  assert.equal(requestSettings(settings, 4).steps, 4);
  // Settings left to the model stay unsent in both.
  assert.deepEqual(requestSettings({ guidanceScale: null, steps: null, scheduler: MODEL_OWN_SAMPLER, negativePrompt: '', size: 0, imageCount: 1 }), { count: 1, previewEvery: 2 });
  // What belongs to one job, not to the settings, is refused in a warm-up.
  for (const field of ['prompt', 'seed', 'outputDir', 'initImage']) {
    assert.equal(WarmupParams.safeParse({ ...warm, [field]: field === 'seed' ? 1 : 'x' }).success, false, field);
  }
});
