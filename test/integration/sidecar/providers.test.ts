import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { launchSidecar } from '../../../src/protocol';
import { probeCuda } from '../../../src/sidecar/runtime/providers';
import { CLI, ROOT } from './helpers';

const cudaLibs = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
const hasCuda = async () => (await probeCuda()) === undefined;

test('--device cuda without a working CUDA provider falls back to the CPU and says why', async (t) => {
  if (await hasCuda()) return t.skip('this machine has a working CUDA provider');
  const s = await launchSidecar({ command: CLI, args: ['--device', 'cuda'], cwd: ROOT });
  try {
    assert.equal(s.banner.executionProvider, 'cpu');
    const caps = await s.client.hello();
    assert.equal(caps.executionProvider, 'cpu');
    assert.match(caps.providerNote ?? '', /^CUDA was requested but the CUDA execution provider did not load \(.+\); running on the CPU\./);
    assert.match(caps.providerNote ?? '', /gpu-setup/);
  } finally {
    s.process.kill('SIGKILL');
  }
});

const gpuSetup = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(CLI[0], [...CLI.slice(1), 'gpu-setup', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

const linuxX64 = platform() === 'linux' && arch() === 'x64';

test('gpu-setup --dry-run names the installer command and the target folder, and changes nothing', { skip: !linuxX64 || existsSync(cudaLibs) }, () => {
  const r = gpuSetup(['--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /would run: ONNXRUNTIME_NODE_INSTALL=cuda12 .*onnxruntime-node\/script\/install\.js/);
  assert.match(r.stdout, /libonnxruntime_providers_cuda\.so.*from api\.nuget\.org into .*bin\/napi-v6\/linux\/x64/);
  assert.equal(existsSync(cudaLibs), false);
});

test('gpu-setup without a route to NuGet fails with exit 2 and says why and what to do', { skip: !linuxX64 || existsSync(cudaLibs) }, () => {
  // An unreachable proxy makes the failure the same on every machine, with or without internet.
  const r = gpuSetup([], { GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9' });
  assert.equal(r.status, 2);
  assert.match(r.stdout, /running onnxruntime-node's installer: ONNXRUNTIME_NODE_INSTALL=cuda12/);
  assert.match(r.stderr, /the CUDA provider was NOT installed: no network route to the NuGet feed \(ECONNREFUSED 127\.0\.0\.1:9\)/);
  assert.match(r.stderr, /copy libonnxruntime_providers_cuda\.so.* by hand/);
  assert.equal(existsSync(cudaLibs), false);
});
