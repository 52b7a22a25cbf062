// The extension's X/Y plot request and gallery items (no VS Code): a model axis leaves each student its
// own step count; a cell re-runs as that cell's generation; the grid is shown as a labelled sheet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GenerateParams, XYAxis } from '../../../src/protocol';
import { plotItem, plotParams } from '../../../src/extension/xyplot/plotItems';

const generate: GenerateParams = { model: 'emoji-guided-4', prompt: 'cat face', seed: 7, count: 1, steps: 4, outputDir: '/out', previewEvery: 1 };
const models: XYAxis = { setting: 'model', values: ['emoji-base', 'emoji-guided-4'] };
const seeds: XYAxis = { setting: 'seed', values: [1, 2] };

test('the plot request drops count, and with a model axis the steps are the user\'s own, not the current student\'s', () => {
  const p = plotParams(generate, undefined, models, seeds);
  assert.equal('count' in p, false);
  assert.equal(p.steps, undefined, 'each model samples with its own steps');
  assert.equal(plotParams(generate, 12, models, seeds).steps, 12);
  assert.equal(plotParams(generate, undefined, seeds, { setting: 'guidanceScale', values: [1, 2] }).steps, 4, 'no model axis: the request as made');
});

test('a cell is an ordinary generated image whose re-run uses its own model; the grid is a labelled sheet', () => {
  const params = plotParams(generate, undefined, models, seeds);
  const cell = plotItem({ path: '/out/1-cat-face.png', kind: 'image', metadata: { model: 'emoji-base', seed: 1, steps: 8, x: 'emoji-base', y: '1' } }, params);
  assert.equal(cell.title, 'Model emoji-base · Seed 1');
  assert.equal(cell.request.model, 'emoji-base');
  assert.equal(cell.request.count, 1);
  assert.equal(cell.sheet, undefined);
  const grid = plotItem({ path: '/out/xyplot-cat-face.png', kind: 'image', metadata: { grid: true, xValues: ['emoji-base', 'emoji-guided-4'], yValues: ['1', '2'] } }, params);
  assert.equal(grid.title, 'X/Y plot: Model × Seed');
  assert.equal(grid.sheet, true);
  assert.equal(grid.grid, true);
  assert.deepEqual(grid.params, { prompt: 'cat face', 'X Type': 'Model', 'X Values': 'emoji-base, emoji-guided-4', 'Y Type': 'Seed', 'Y Values': '1, 2' });
});
