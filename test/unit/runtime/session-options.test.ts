// The one rule for session options (src/sidecar/runtime/session-options.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { intraOpThreads, sessionOptions } from '../../../src/sidecar/runtime/session-options';

function withThreadsEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.DIFFUSION_STUDIO_THREADS;
  if (value === undefined) delete process.env.DIFFUSION_STUDIO_THREADS;
  else process.env.DIFFUSION_STUDIO_THREADS = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.DIFFUSION_STUDIO_THREADS;
    else process.env.DIFFUSION_STUDIO_THREADS = saved;
  }
}

test('intra-op threads default to all cores but one, at least one; DIFFUSION_STUDIO_THREADS overrides', () => {
  withThreadsEnv(undefined, () => assert.equal(intraOpThreads(), Math.max(1, availableParallelism() - 1)));
  withThreadsEnv('3', () => assert.equal(intraOpThreads(), 3));
  withThreadsEnv('zero', () => assert.equal(intraOpThreads(), Math.max(1, availableParallelism() - 1)));
});

test('a request names its providers and threads; the rest is the measured CPU setup', () => {
  const o = withThreadsEnv(undefined, () => sessionOptions({}));
  assert.deepEqual(o, {
    executionProviders: ['cpu'], intraOpNumThreads: Math.max(1, availableParallelism() - 1), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all', enableCpuMemArena: true,
  });
  const cuda = sessionOptions({ executionProviders: ['cuda', 'cpu'], intraOpNumThreads: 2 });
  assert.deepEqual([cuda.executionProviders, cuda.intraOpNumThreads], [['cuda', 'cpu'], 2]);
});
