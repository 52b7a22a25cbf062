// The CUDA probe (src/sidecar/runtime/providers.ts): its model and what it says when CUDA cannot load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { chooseProvider, probeCuda, probeModel } from '../../../src/sidecar/runtime/providers';
import { CUDA_PROVIDER_LIBRARY, ortBinDir, unresolvedLibraries } from '../../../src/sidecar/runtime/cuda-libraries';

test('the CUDA probe model is a 3x3 convolution (so it needs cuDNN) and runs on the CPU', async () => {
  const s = await ort.InferenceSession.create(probeModel(), { executionProviders: ['cpu'] });
  const y = (await s.run({ x: new ort.Tensor('float32', new Float32Array(64).fill(1), [1, 1, 8, 8]) })).y;
  assert.deepEqual(y.dims, [1, 1, 8, 8]);
  const at = (r: number, c: number) => (y.data as Float32Array)[r * 8 + c];
  // A 3x3 box sum with zero padding: 9 inside, 6 on an edge, 4 in a corner; Identity would give 1.
  assert.deepEqual([at(3, 3), at(0, 3), at(0, 0)], [9, 6, 4]);
  await s.release();
});

const providerInstalled = existsSync(join(ortBinDir(), CUDA_PROVIDER_LIBRARY));

test('without the CUDA provider library the fallback names the missing file and its folder', { skip: providerInstalled && 'the CUDA provider is installed here' }, async () => {
  const failure = await probeCuda();
  assert.ok(failure);
  assert.match(failure, new RegExp(`${CUDA_PROVIDER_LIBRARY.replace(/\./g, '\\.')} is not in .*napi-v6`));
  const forced = await chooseProvider('cuda');
  assert.equal(forced.provider, 'cpu');
  assert.match(forced.note ?? '', /^CUDA was requested but the CUDA execution provider did not load \(.*libonnxruntime_providers_cuda\.so is not in /);
  const auto = await chooseProvider('auto');
  assert.match(auto.note ?? '', /^No CUDA provider libraries installed \(libonnxruntime_providers_cuda\.so is not in .*\); running on the CPU/);
});

const gcc = spawnSync('gcc', ['--version']).status === 0;

// A library whose dependency is gone, as the CUDA provider is when cuDNN is not on the library path:
// the loader's own error does not say which one, so the probe asks ldd.
test('a library whose dependency is missing is named by what it needs', { skip: !gcc && 'no C compiler here' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ds-ldd-'));
  try {
    const cc = (...args: string[]) => assert.equal(spawnSync('gcc', args, { cwd: dir }).status, 0);
    writeFileSync(join(dir, 'dep.c'), 'int dep(void) { return 1; }\n');
    writeFileSync(join(dir, 'top.c'), 'int dep(void); int top(void) { return dep(); }\n');
    cc('-shared', '-fPIC', '-Wl,-soname,libfakecudnn.so.9', '-o', 'libfakecudnn.so.9', 'dep.c');
    cc('-shared', '-fPIC', '-Wl,-rpath,$ORIGIN', '-o', 'libtop.so', 'top.c', 'libfakecudnn.so.9');
    assert.deepEqual(unresolvedLibraries(join(dir, 'libtop.so')), []);
    rmSync(join(dir, 'libfakecudnn.so.9'));
    assert.deepEqual(unresolvedLibraries(join(dir, 'libtop.so')), ['libfakecudnn.so.9']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
