// A model's own scheduler (scheduler_config.json's _class_name) is its default sampler; a class we lack,
// or an option that changes the maths and is not implemented, is a clear error, never a substitution;
// every sampler's A1111 name reads back as a sampler that runs the same maths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder } from '../../../src/sidecar/io/model-folder';
import { resolveSettings } from '../../../src/sidecar/pipelines/request';
import { toSidecarError } from '../../../src/sidecar/jobs/errors';
import { formatParameters, parseParameters } from '../../../src/sidecar/io/png-metadata';
import { SAMPLER_IDS, parseSampler } from '../../../src/protocol/samplers';
import { createScheduler, parseSchedulerConfig, samplerForConfig, type SchedulerConfig } from '../../../src/sidecar/schedulers/index';

const tinySd = join(__dirname, '..', '..', 'fixtures', 'tiny-sd');
const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };

/** A copy of tiny-sd whose scheduler_config.json is `edit`ed. */
function withSchedulerConfig(edit: (o: Record<string, unknown>) => void): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sched-')), 'tiny-sd');
  cpSync(tinySd, dir, { recursive: true });
  const path = join(dir, 'scheduler', 'scheduler_config.json');
  const o = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(o);
  writeFileSync(path, JSON.stringify(o));
  return dir;
}

const settings = (dir: string, scheduler?: string) => resolveSettings({ prompt: 'x', seed: 1, ...(scheduler ? { scheduler } : {}) }, loadModelFolder(dir), [64, 64], 8);

test("a model's own scheduler class is its default sampler; the request and model_index defaults still win", () => {
  assert.equal(settings(tinySd).scheduler, 'pndm'); // SD 1.x's PNDMScheduler
  for (const [cls, id] of [['EulerAncestralDiscreteScheduler', 'euler_a'], ['DPMSolverMultistepScheduler', 'dpmpp_2m'], ['UniPCMultistepScheduler', 'unipc'], ['LCMScheduler', 'lcm'], ['DDIMScheduler', 'ddim']] as const) {
    assert.equal(settings(withSchedulerConfig((o) => (o._class_name = cls))).scheduler, id, cls);
  }
  assert.equal(settings(tinySd, 'Euler a').scheduler, 'euler_a');
  const noClass = withSchedulerConfig((o) => delete o._class_name);
  assert.equal(settings(noClass).scheduler, 'dpmpp_2m'); // no class named: our default
});

test('a scheduler class we lack is an error naming it (model_invalid), unless the request picks a sampler', () => {
  const tcd = withSchedulerConfig((o) => (o._class_name = 'TCDScheduler'));
  assert.throws(() => settings(tcd), (e: Error) => {
    assert.match(e.message, /scheduler_config\.json: the model's scheduler TCDScheduler is not implemented here \(known: DDIMScheduler, .*LCMScheduler\); choose a sampler explicitly/);
    assert.equal(toSidecarError(e).code, 'model_invalid');
    return true;
  });
  assert.equal(settings(tcd, 'lcm').scheduler, 'lcm');
});

test('options that change the maths and are not implemented are refused by the sampler that reads them', () => {
  const cfg = (o: Record<string, unknown>): SchedulerConfig => parseSchedulerConfig({ ...SD, ...o });
  assert.throws(() => createScheduler('ddim', cfg({ thresholding: true })), /thresholding: true .* is not implemented by the DDIM scheduler/);
  assert.doesNotThrow(() => createScheduler('euler', cfg({ thresholding: true }))); // diffusers' Euler has no such option
  assert.throws(() => createScheduler('pndm', cfg({ skip_prk_steps: false })), /skip_prk_steps: false/);
  assert.throws(() => createScheduler('dpmpp_2m', cfg({ algorithm_type: 'dpmsolver' })), /algorithm_type "dpmsolver" is not implemented/);
  assert.throws(() => createScheduler('dpmpp_2m', cfg({ solver_order: 3 })), /solver_order 3/);
  assert.throws(() => createScheduler('euler', cfg({ use_exponential_sigmas: true })), /use_exponential_sigmas/);
  assert.throws(() => createScheduler('ddpm', cfg({ variance_type: 'learned_range' })), /variance_type "learned_range"/);
  // A zero-SNR model on a sampler whose diffusers class has no zero-SNR schedule: refused, not run on the wrong schedule.
  assert.throws(() => createScheduler('lms', cfg({ rescale_betas_zero_snr: true })), /rescale_betas_zero_snr: true/);
  assert.doesNotThrow(() => createScheduler('euler', cfg({ rescale_betas_zero_snr: true })));
  assert.throws(() => createScheduler('ddim', cfg({ thresholding: true })), (e: Error) => toSidecarError(e).code === 'model_invalid');
  // Harmless keys are not reported; unknown ones are listed, not silently dropped.
  assert.equal(cfg({ _diffusers_version: '0.30.0', sample_max_value: 1 }).ignored_keys, undefined);
  assert.deepEqual(cfg({ some_new_key: 1 }).ignored_keys, ['some_new_key']);
  assert.equal(samplerForConfig(cfg({})), null);
});

test('config options pick the variant diffusers runs: use_karras_sigmas, algorithm_type', () => {
  const c = (o: Record<string, unknown>) => parseSchedulerConfig({ ...SD, ...o });
  assert.equal(createScheduler('dpmpp_2m', c({ use_karras_sigmas: true })).displayName, 'DPM++ 2M Karras');
  assert.equal(createScheduler('euler', c({ use_karras_sigmas: true })).displayName, 'Euler Karras');
  assert.equal(createScheduler('euler_a', c({ use_karras_sigmas: true })).displayName, 'Euler a'); // diffusers ignores it there
  assert.equal(createScheduler('dpmpp_2m', c({ algorithm_type: 'sde-dpmsolver++' })).displayName, 'DPM++ 2M SDE');
  assert.equal(createScheduler('lms', c({ use_karras_sigmas: true })).displayName, 'LMS Karras');
});

test("A1111 names in the PNG parameters read back as a sampler running the same maths", () => {
  const config = parseSchedulerConfig({ ...SD, steps_offset: 1 });
  for (const id of SAMPLER_IDS) {
    for (const karras of [false, true]) {
      const s = createScheduler(id, { ...config, use_karras_sigmas: karras });
      const text = formatParameters({ prompt: 'a cat', negativePrompt: '', steps: 8, sampler: s.displayName, cfgScale: 7.5, seed: 1, width: 64, height: 64, model: 'm', modelHash: '0123456789' });
      const back = parseSampler(parseParameters(text).fields.Sampler);
      const again = createScheduler(back, { ...config, use_karras_sigmas: karras });
      again.setTimesteps(8);
      s.setTimesteps(8);
      assert.deepEqual(again.timesteps, s.timesteps, `${id} (karras ${karras}): "${s.displayName}" -> ${back}`);
      assert.equal(again.displayName, s.displayName);
    }
  }
  assert.equal(createScheduler('pndm', config).displayName, 'PLMS');
  assert.equal(createScheduler('unipc', config).displayName, 'UniPC');
  assert.equal(createScheduler('lcm', config).displayName, 'LCM');
});

test("`models` shows each model's own scheduler, a class we lack, and config keys no sampler reads", () => {
  const tcd = withSchedulerConfig((o) => {
    o._class_name = 'TCDScheduler';
    o.some_new_key = 1;
  });
  const root = join(__dirname, '..', '..', '..');
  const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(root, 'src', 'sidecar', 'cli', 'main.ts'), 'models', '--models-dir', tinySd, '--models-dir', tcd], {
    encoding: 'utf8',
    env: { ...process.env, DIFFUSION_STUDIO_MODELS: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /emoji-base .*v_prediction, DDIM \(DDIMScheduler\)/);
  assert.match(r.stdout, /tiny-sd .*epsilon, PLMS \(PNDMScheduler\)\n/);
  assert.match(r.stdout, /TCDScheduler \(not implemented here: name a sampler\), scheduler_config.json keys not read: some_new_key/);
});

test("a config without beta keys gets its own class's schedule (Heun, LCM: 0.00085..0.012), the file's keys always win", () => {
  const betas = (c: SchedulerConfig) => [c.beta_start, c.beta_end, c.beta_schedule];
  assert.deepEqual(betas(parseSchedulerConfig({ _class_name: 'DDIMScheduler' })), [0.0001, 0.02, 'linear']);
  assert.deepEqual(betas(parseSchedulerConfig({ _class_name: 'HeunDiscreteScheduler' })), [0.00085, 0.012, 'linear']);
  assert.deepEqual(betas(parseSchedulerConfig({ _class_name: 'LCMScheduler' })), [0.00085, 0.012, 'scaled_linear']);
  assert.deepEqual(betas(parseSchedulerConfig({ _class_name: 'LCMScheduler', beta_end: 0.02, beta_schedule: 'linear' })), [0.00085, 0.02, 'linear']);
  // the schedule really is the class's: the first alpha-bar of a Heun config without betas
  const heun = createScheduler('heun', parseSchedulerConfig({ _class_name: 'HeunDiscreteScheduler' }));
  const ddimLike = createScheduler('heun', parseSchedulerConfig({ _class_name: 'HeunDiscreteScheduler', beta_start: 0.0001, beta_end: 0.02 }));
  heun.setTimesteps(4);
  ddimLike.setTimesteps(4);
  assert.notEqual(heun.initNoiseSigma, ddimLike.initNoiseSigma);
});
