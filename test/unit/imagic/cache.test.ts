// The stage cache: entries round-trip, a damaged entry is dropped (and so retrained) instead of
// failing the edit, the default folder follows the environment, and model-file fingerprints change
// with the file's content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageCache, cacheKey, defaultCacheDir, fileFingerprint } from '../../../src/sidecar/pipelines/imagic/cache';

test('entries round-trip; a damaged entry reads as absent and is removed', () => {
  const cache = new StageCache(mkdtempSync(join(tmpdir(), 'imagic-cache-')));
  const path = cache.embeddingPath(cacheKey({ a: 1 }));
  assert.equal(cache.read(path), null);
  cache.write(path, new Map([['e_opt', { dtype: 'float32', dims: [1, 2], data: Float32Array.of(1.5, -2) }]]));
  assert.deepEqual(Array.from(cache.read(path)!.get('e_opt')!.data as Float32Array), [1.5, -2]);
  writeFileSync(path, 'not safetensors');
  assert.equal(cache.read(path), null);
  assert.equal(existsSync(path), false);
});

test('keys differ with any setting; the folder follows DIFFUSION_STUDIO_CACHE, then XDG_CACHE_HOME', () => {
  assert.notEqual(cacheKey({ steps: 150 }), cacheKey({ steps: 151 }));
  assert.equal(defaultCacheDir({ DIFFUSION_STUDIO_CACHE: '/c' }), join('/c', 'imagic'));
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x' }), join('/x', 'diffusion-studio', 'imagic'));
});

test('a model file fingerprint changes with its content, not with nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagic-fp-'));
  const f = join(dir, 'model.onnx');
  writeFileSync(f, Buffer.alloc(3 << 20, 1));
  const a = fileFingerprint(f);
  assert.equal(fileFingerprint(f), a);
  const b = Buffer.alloc(3 << 20, 1);
  b[b.length - 5] = 2; // in the last MiB
  writeFileSync(f, b);
  assert.notEqual(fileFingerprint(f), a);
  assert.equal(fileFingerprint(null), 'none');
});
