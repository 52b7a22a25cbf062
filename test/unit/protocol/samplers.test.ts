// The one sampler vocabulary: every spelling a user may type resolves to one id, every id has a
// scheduler class, and the settings contributed in package.json agree with the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  findSampler,
  GENERATION_DEFAULTS,
  parseSampler,
  SAMPLER_IDS,
  SAMPLER_NAMES,
  SAMPLERS,
  samplerLabel,
} from '../../../src/protocol';
import { createScheduler, defaultSchedulerConfig } from '../../../src/sidecar/schedulers/index';
import { DEFAULT_MODEL } from '../../../src/sidecar/io/model-discovery';

const root = join(__dirname, '..', '..', '..');

test('every id, A1111 name and alias resolves to its own row, in any case and with spaces around', () => {
  for (const s of SAMPLERS) {
    for (const name of [s.id, s.label, ...s.aliases]) {
      assert.equal(parseSampler(name), s.id, name);
      assert.equal(parseSampler(` ${name.toUpperCase()} `), s.id, name.toUpperCase());
    }
  }
  // The spellings of earlier versions (CLI, sidecar, protocol) keep working.
  const earlier: Record<string, string> = {
    'euler-a': 'euler_a', 'dpm++2m': 'dpmpp_2m', 'dpm++2m-karras': 'dpmpp_2m_karras', 'euler-ancestral': 'euler_a', 'dpm++': 'dpmpp_2m',
  };
  for (const [old, id] of Object.entries(earlier)) assert.equal(parseSampler(old), id, old);
});

test('no spelling means two samplers, and ids are the wire spelling (lower case, no spaces)', () => {
  const owner = new Map<string, string>();
  for (const s of SAMPLERS) {
    for (const name of [s.id, s.label, ...s.aliases].map((n) => n.toLowerCase())) {
      assert.ok((owner.get(name) ?? s.id) === s.id, `"${name}" names both ${owner.get(name)} and ${s.id}`);
      owner.set(name, s.id);
    }
  }
  assert.equal(SAMPLER_NAMES.length, SAMPLERS.reduce((n, s) => n + 2 + s.aliases.length, 0));
  for (const id of SAMPLER_IDS) assert.match(id, /^[a-z0-9_]+$/);
});

test('an unknown name is a RangeError naming the valid ids', () => {
  // 'plms' became a sampler in issue 14 (PNDM's A1111 name); 'k_dpm_fast' is one we still lack.
  assert.equal(findSampler('k_dpm_fast'), undefined);
  assert.throws(
    () => parseSampler('k_dpm_fast'),
    (e: Error) => e instanceof RangeError && e.message.includes('"k_dpm_fast"') && SAMPLER_IDS.every((id) => e.message.includes(id)),
  );
});

test('every id creates a scheduler that reports the id and the A1111 name of the table', () => {
  for (const s of SAMPLERS) {
    const sched = createScheduler(s.id, defaultSchedulerConfig());
    assert.equal(sched.name, s.id);
    assert.equal(sched.displayName, s.label);
    assert.equal(samplerLabel(s.id), s.label);
    sched.setTimesteps(4);
    // One UNet evaluation per step, except where diffusers' class takes more (issue 14): PLMS's warm-up
    // repeats one timestep (n + 1), Heun evaluates twice per step but once for the last (2n - 1).
    const evaluations = s.id === 'pndm' ? 5 : s.id === 'heun' ? 7 : 4;
    assert.equal(sched.timesteps.length, evaluations, s.id);
  }
});

interface Setting {
  default?: unknown;
  enum?: string[];
  enumItemLabels?: string[];
  enumDescriptions?: string[];
  description?: string;
  markdownDescription?: string;
}
const settings = () =>
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, Setting> } } })
    .contributes.configuration.properties;

test('the scheduler setting lists exactly the table (ids, A1111 names, descriptions), after "auto"', () => {
  const s = settings()['diffusionStudio.scheduler'];
  const expected = {
    enum: ['auto', ...SAMPLER_IDS],
    enumItemLabels: ["Model's own", ...SAMPLERS.map((x) => x.label)],
    enumDescriptions: s.enumDescriptions && [s.enumDescriptions[0], ...SAMPLERS.map((x) => x.description)],
  };
  assert.deepEqual(
    { enum: s.enum, enumItemLabels: s.enumItemLabels, enumDescriptions: s.enumDescriptions },
    expected,
    `package.json's diffusionStudio.scheduler drifted from src/protocol/samplers.ts; it should read\n${JSON.stringify(expected, null, 2)}`,
  );
  assert.equal(s.default, 'auto');
});

test('generation settings default to the model\'s own, and say what that falls back to', () => {
  const p = settings();
  assert.equal(p['diffusionStudio.guidanceScale'].default, null);
  assert.equal(p['diffusionStudio.steps'].default, null);
  const text = (k: string) => p[k].markdownDescription ?? p[k].description ?? '';
  assert.ok(text('diffusionStudio.guidanceScale').includes(`${GENERATION_DEFAULTS.guidanceScale}`), text('diffusionStudio.guidanceScale'));
  assert.ok(text('diffusionStudio.steps').includes(`${GENERATION_DEFAULTS.steps}`), text('diffusionStudio.steps'));
  assert.ok(p['diffusionStudio.scheduler'].enumDescriptions![0].includes(samplerLabel(GENERATION_DEFAULTS.scheduler)));
  assert.equal(p['diffusionStudio.model'].default, GENERATION_DEFAULTS.model);
  assert.equal(p['diffusionStudio.imageCount'].default, GENERATION_DEFAULTS.count);
});

test('the sidecar\'s default model is the shared default', () => {
  assert.equal(DEFAULT_MODEL, GENERATION_DEFAULTS.model);
});
