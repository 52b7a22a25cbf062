// Vary Image's strength as a user types it, and its setting's default (the sidecar's own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATION_DEFAULTS } from '../../../src/protocol';
import { parseStrength } from '../../../src/extension/vary/strength';

test('a strength is a number in (0, 1]; anything else gets a message naming the range and the input', () => {
  assert.deepEqual(parseStrength('0.5'), { strength: 0.5 });
  assert.deepEqual(parseStrength(' 1 '), { strength: 1 });
  assert.deepEqual(parseStrength('.25'), { strength: 0.25 });
  for (const bad of ['0', '1.5', '-0.2', 'half', '', '0x1', 'NaN', '1e-1']) {
    const r = parseStrength(bad);
    assert.ok('error' in r && /greater than 0 and at most 1/.test(r.error) && r.error.includes(`"${bad.trim()}"`), `${bad}: ${JSON.stringify(r)}`);
  }
});

test('diffusionStudio.varyStrength defaults to the sidecar\'s image-to-image strength', () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default: unknown }> } } };
  assert.equal(manifest.contributes.configuration.properties['diffusionStudio.varyStrength'].default, GENERATION_DEFAULTS.strength);
});
