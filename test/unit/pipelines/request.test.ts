import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { modelDefaults, parseSchedulerName, resolveSettings } from '../../../src/sidecar/pipelines/request';

const fixtures = join(__dirname, '..', '..', 'fixtures');

/** A copy of both fixtures, so model_index.json and distill.json can be edited. */
function copies(): { base: string; student: string } {
  const root = mkdtempSync(join(tmpdir(), 'req-'));
  cpSync(join(fixtures, 'tiny-sd'), join(root, 'tiny-sd'), { recursive: true });
  cpSync(join(fixtures, 'tiny-sd-guided'), join(root, 'tiny-sd-guided'), { recursive: true });
  return { base: join(root, 'tiny-sd'), student: join(root, 'tiny-sd-guided') };
}

function editJson(path: string, edit: (o: Record<string, unknown>) => void): void {
  const o = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(o);
  writeFileSync(path, JSON.stringify(o));
}

test('model defaults: model_index.json "defaults", else ours', () => {
  const { base } = copies();
  const plain = resolveSettings({ prompt: 'x', seed: 1 }, loadModelFolder(base), [64, 64], 8);
  // Issue 14: with no "defaults", the model's own scheduler decides (tiny-sd's scheduler_config.json is
  // SD 1.x's PNDMScheduler, so PLMS; it was our DPM++ 2M before, ignoring _class_name).
  assert.deepEqual([plain.steps, plain.guidanceScale, plain.scheduler], [20, 7.5, 'pndm']);
  editJson(join(base, 'model_index.json'), (o) => (o.defaults = { steps: 12, guidance_scale: 3, scheduler: 'ddim' }));
  const s = resolveSettings({ prompt: 'x', seed: 1 }, loadModelFolder(base), [64, 64], 8);
  assert.deepEqual([s.steps, s.guidanceScale, s.scheduler], [12, 3, 'ddim']);
  const r = resolveSettings({ prompt: 'x', seed: 1, steps: 5, guidanceScale: 2, scheduler: 'euler_a' }, loadModelFolder(base), [64, 64], 8);
  assert.deepEqual([r.steps, r.guidanceScale, r.scheduler], [5, 2, 'euler_a']);
});

test('students: distill.json steps and scheduler win over the base; guidance clamped (guided) or baked in (progressive)', () => {
  const { base, student } = copies();
  editJson(join(base, 'model_index.json'), (o) => (o.defaults = { steps: 20, guidance_scale: 15, scheduler: 'euler' }));
  assert.deepEqual(modelDefaults(loadModelFolder(student)), { steps: 4, scheduler: 'ddim', guidance_scale: 12 });
  editJson(join(student, 'distill.json'), (o) => {
    delete o.guidance_range;
    o.kind = 'progressive';
    o.guidance_scale = 3;
  });
  assert.deepEqual(modelDefaults(loadModelFolder(student)), { steps: 4, scheduler: 'ddim', guidance_scale: 1 });
});

test('scheduler names: ids, earlier CLI spellings and A1111 names resolve to ids; others are a clear error', () => {
  assert.equal(parseSchedulerName('DPMPP_2M_KARRAS'), 'dpmpp_2m_karras');
  assert.equal(parseSchedulerName('dpm++2m-karras'), 'dpmpp_2m_karras');
  assert.equal(parseSchedulerName('euler-a'), 'euler_a');
  assert.equal(parseSchedulerName(' Euler a '), 'euler_a');
  // 'lms' became a sampler in issue 14; the list of ids is the whole table.
  assert.throws(() => parseSchedulerName('k_dpm_fast'), /unknown scheduler "k_dpm_fast" \(choose one of ddim, ddpm, pndm, euler, euler_karras, euler_a, lms, heun, dpmpp_2m, dpmpp_2m_karras, dpmpp_2m_sde, unipc, lcm, or an A1111 name such as "Euler a"\)/);
});
