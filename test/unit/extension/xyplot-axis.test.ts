// X/Y plot axes as a user types them (the quick input's validation) and the protocol's check of a
// plot request: every refusal names the bad value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XYPlotParams } from '../../../src/protocol';
import { AXIS_CHOICES, parseAxisValues, tooManyCells } from '../../../src/extension/xyplot/axisValues';

const values = (setting: Parameters<typeof parseAxisValues>[0], text: string, models: string[] = []) => {
  const r = parseAxisValues(setting, text, models);
  if ('error' in r) throw new Error(r.error);
  return r.axis.values;
};
const error = (setting: Parameters<typeof parseAxisValues>[0], text: string, models: string[] = []) => {
  const r = parseAxisValues(setting, text, models);
  assert.ok('error' in r, `"${text}" should be refused`);
  return r.error;
};

test('whole numbers: comma lists and ranges (either way round), spaces allowed', () => {
  assert.deepEqual(values('seed', '1, 2, 3'), [1, 2, 3]);
  assert.deepEqual(values('steps', '3-7'), [3, 4, 5, 6, 7]);
  assert.deepEqual(values('steps', ' 8 - 6 ,20'), [8, 7, 6, 20]);
  assert.deepEqual(values('seed', '4294967295'), [4294967295]);
});

test('numbers, samplers (id or A1111 name, as ids) and models (from the list)', () => {
  assert.deepEqual(values('guidanceScale', '1, 3.5, .5, 7.5'), [1, 3.5, 0.5, 7.5]);
  assert.deepEqual(values('scheduler', 'ddim, Euler a, DPM++ 2M Karras'), ['ddim', 'euler_a', 'dpmpp_2m_karras']);
  assert.deepEqual(values('model', 'emoji-base, emoji-guided-4', ['emoji-base', 'emoji-guided-4']), ['emoji-base', 'emoji-guided-4']);
});

test('bad values are refused with the setting and the value named', () => {
  assert.equal(error('steps', '4, 2000'), 'Steps: "2000" is not allowed (Too big: expected number to be <=1000)');
  assert.equal(error('steps', '0'), 'Steps: "0" is not allowed (Too small: expected number to be >=1)');
  assert.equal(error('seed', '1, two'), 'Seed: "two" is not a whole number or a range such as 3-7');
  assert.equal(error('seed', '-1'), 'Seed: "-1" is not a whole number or a range such as 3-7');
  assert.equal(error('seed', '4294967296'), 'Seed: "4294967296" is not allowed (Too big: expected number to be <=4294967295)');
  assert.equal(error('steps', '1.5'), 'Steps: "1.5" is not a whole number or a range such as 3-7');
  assert.equal(error('guidanceScale', '7, high'), 'CFG scale: "high" is not a number');
  assert.equal(error('guidanceScale', '101'), 'CFG scale: "101" is not allowed (Too big: expected number to be <=100)');
  assert.match(error('scheduler', 'ddim, warp'), /^Sampler: unknown scheduler "warp" \(choose one of ddim, ddpm/);
  assert.equal(error('model', 'emoji-base, sd-xl', ['emoji-base', 'emoji-guided-4']), 'Model: "sd-xl" is not in the model list (emoji-base, emoji-guided-4)');
  assert.equal(error('seed', ''), 'Seed: type at least one value');
  assert.equal(error('seed', '1,,2'), 'Seed: value 2 is empty (two commas in a row, or a comma at the end)');
  assert.equal(error('seed', '1-4000000000'), 'Seed: the range "1-4000000000" has 4000000000 values; at most 16 per axis');
  assert.equal(error('seed', '1-10, 20-30'), 'Seed: 21+ values; at most 16 per axis');
});

test('cells: at most 64 in a plot', () => {
  assert.equal(tooManyCells(8, 8), undefined);
  assert.equal(tooManyCells(9, 8), '9 x 8 = 72 cells; at most 64 (fewer values on one axis)');
});

test('every setting of the protocol has a picker row', () => {
  assert.deepEqual(AXIS_CHOICES.map((c) => c.label), ['Seed', 'CFG scale', 'Steps', 'Sampler', 'Model']);
});

test('the protocol: a plot request is strict, its axes differ, its values are bounded, and each refusal names its path', () => {
  const base = { model: 'm', prompt: 'p', x: { setting: 'seed', values: [1, 2] }, y: { setting: 'steps', values: [4] } };
  assert.ok(XYPlotParams.safeParse(base).success);
  const issue = (p: object) => {
    const r = XYPlotParams.safeParse(p);
    assert.ok(!r.success);
    return `${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`;
  };
  assert.equal(issue({ ...base, count: 4 }), ': Unrecognized key: "count"');
  assert.equal(issue({ ...base, y: { setting: 'seed', values: [3] } }), 'y.setting: X and Y both vary seed: pick two different settings');
  assert.equal(issue({ ...base, x: { setting: 'steps', values: [4, 0] }, y: { setting: 'seed', values: [1] } }), 'x.values.1: Too small: expected number to be >=1');
  assert.equal(issue({ ...base, x: { setting: 'seed', values: [] } }), 'x.values: Too small: expected array to have >=1 items');
  assert.match(issue({ ...base, x: { setting: 'size', values: [64] } }), /^x.setting: /);
  assert.deepEqual(XYPlotParams.parse({ ...base, x: { setting: 'scheduler', values: ['Euler a'] } }).x.values, ['euler_a'], 'samplers arrive as ids');
});
