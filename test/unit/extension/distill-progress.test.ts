// The distillation progress panel without VS Code: the loss series (every step, then bucket means),
// the panel's state built from a distill job's progress events, and the chart's geometry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProgressEvent } from '../../../src/protocol';
import { LossSeries } from '../../../src/extension/distillProgress/lossSeries';
import { DistillProgressState } from '../../../src/extension/distillProgress/progressState';
import { CHART_BOX, chartLayout } from '../../../webview-ui/distill/chart';
import type { PhaseView } from '../../../webview-ui/shared/messages';

const event = (stage: string, step: number, total: number, extra: Partial<ProgressEvent> = {}): ProgressEvent =>
  ({ v: 1, type: 'progress', jobId: 'job1', stage, step, total, ...extra }) as ProgressEvent;

test('a short phase keeps every step; a repeated step and a NaN loss are ignored', () => {
  const s = new LossSeries(200);
  for (let k = 1; k <= 50; k++) s.add(k, 1 / k);
  s.add(50, 123);
  s.add(51, NaN);
  assert.equal(s.points.length, 50);
  assert.deepEqual(s.points[9], { step: 10, loss: 0.1 });
  assert.equal(s.bucketSize, 1);
});

test('100,000 steps stay at most 200 points that cover the whole run, as bucket means', () => {
  const s = new LossSeries(200);
  for (let k = 1; k <= 100_000; k++) s.add(k, 2 + Math.sin(k)); // noise around 2
  const pts = s.points;
  assert.ok(pts.length <= 200 && pts.length > 100, `${pts.length} points`);
  assert.ok(pts[0].step < 1000, 'the start is covered');
  assert.ok(pts.at(-1)!.step > 99_000, 'the end is covered');
  // Averaged, not sampled: each mean is near 2 although single losses range over 1..3.
  for (const p of pts.slice(0, -1)) assert.ok(Math.abs(p.loss - 2) < 0.05, `bucket mean ${p.loss}`);
  assert.throws(() => new LossSeries(1), /at least 2 points/);
});

test('the state follows the job: a curve per phase, its student steps and total, sample rows in order, the end', () => {
  const st = new DistillProgressState('progressive distillation of tiny-sd to 1 step');
  for (let k = 1; k <= 5; k++) assert.ok(st.apply(event('round 1/2', k, 5, { metrics: { loss: 0.5 / k, studentSteps: 2 } })));
  assert.ok(st.apply(event('round 2/2', 1, 5, { metrics: { loss: 0.3, studentSteps: 1 } })));
  // Rows may come out of order (sampling runs beside the next phase); a preview-less samples event shows nothing.
  assert.ok(st.apply(event('samples 2/2', 3, 3, { preview: 'QkI=', metrics: { studentSteps: 1 } })));
  assert.ok(st.apply(event('samples 1/2', 3, 3, { preview: 'QUE=', metrics: { studentSteps: 2 } })));
  assert.equal(st.apply(event('samples 1/2', 3, 3)), false);
  assert.equal(st.apply(event('save', 1, 1)), false);
  let v = st.view;
  assert.equal(v.status, 'running');
  assert.equal(v.rounds, 2);
  assert.deepEqual(v.phases.map((p) => [p.round, p.kind, p.studentSteps, p.total, p.received]), [[1, 'round', 2, 5, 5], [2, 'round', 1, 5, 1]]);
  assert.equal(v.phases[0].lastLoss, 0.1);
  assert.deepEqual(v.samples.map((r) => [r.round, r.studentSteps, r.png]), [[1, 2, 'QUE='], [2, 1, 'QkI=']]);
  assert.equal(v.line, 'round 2/2 · step 1/5 · loss 0.3000');
  st.end('succeeded', 'done: 2 students written');
  v = st.view;
  assert.deepEqual([v.status, v.line], ['succeeded', 'done: 2 students written']);
});

test('guided stage 1 is a phase of its own', () => {
  const st = new DistillProgressState('guided');
  st.apply(event('stage1 1/3', 1, 10, { metrics: { loss: 0.2, studentSteps: 8 } }));
  st.apply(event('round 2/3', 1, 10, { metrics: { loss: 0.1, studentSteps: 4 } }));
  assert.deepEqual(st.view.phases.map((p) => [p.round, p.kind]), [[1, 'stage1'], [2, 'round']]);
});

const phase = (round: number, points: Array<[number, number]>, total?: number): PhaseView => ({
  round, kind: 'round', points: points.map(([step, loss]) => ({ step, loss })), total, received: points.length,
});

test('chart: phases side by side in equal slots of the planned number, x the step over the phase total', () => {
  const { width, pad } = CHART_BOX;
  const slot = (width - pad.left - pad.right) / 4;
  const l = chartLayout([phase(1, [[0, 0.1], [100, 0.01]], 100), phase(2, [[50, 0.01]], 100)], 4);
  assert.equal(l.curves.length, 2);
  const xs = (d: string) => [...d.matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
  assert.deepEqual(xs(l.curves[0].d), [pad.left, Math.round((pad.left + slot) * 10) / 10], 'phase 1 spans its slot');
  assert.ok(Math.abs(xs(l.curves[1].d)[0] - (pad.left + 1.5 * slot)) < 0.1, 'half-way through phase 2 is the middle of slot 2');
  assert.match(l.curves[1].d, / h0$/, 'a single point is drawn as a dot');
  assert.equal(l.separators.length, 3, 'a separator between every two of the 4 planned slots');
  assert.deepEqual(l.slots.map((s) => s.label), ['phase 1', 'phase 2', 'phase 3', 'phase 4']);
});

test('chart: y is log10 of the loss, ticks at the powers of ten spanning the data, top to bottom', () => {
  const { height, pad } = CHART_BOX;
  const l = chartLayout([phase(1, [[1, 0.5], [2, 0.002]], 2)], 1);
  assert.deepEqual(l.ticks.map((t) => t.label), ['1e0', '1e-1', '1e-2', '1e-3']);
  assert.equal(l.ticks[0].y, pad.top);
  assert.equal(l.ticks.at(-1)!.y, height - pad.bottom);
  const gaps = l.ticks.slice(1).map((t, i) => t.y - l.ticks[i].y);
  assert.ok(gaps.every((g) => Math.abs(g - gaps[0]) < 0.2), 'decades are evenly spaced');
  // 0.5 sits log10(2) ≈ 0.30 of a decade below 1e0.
  const y05 = Number(/^M[\d.]+ ([\d.]+)/.exec(l.curves[0].d)![1]);
  assert.ok(Math.abs(y05 - (pad.top + Math.log10(2) * gaps[0])) < 0.2, `y of 0.5: ${y05}`);
});

test('chart: no loss yet, a zero or non-finite loss, a flat curve', () => {
  const empty = chartLayout([], undefined);
  assert.deepEqual([empty.curves.length, empty.slots.length], [0, 1]);
  const odd = chartLayout([phase(1, [[1, 0], [2, Infinity], [3, 0.01]], 3)], 1);
  assert.equal(odd.curves[0].d.split(/[ML]/).filter(Boolean).length, 1, 'only the finite positive loss is drawn');
  const flat = chartLayout([phase(1, [[1, 0.01], [2, 0.01]], 2)], 1);
  assert.equal(flat.ticks.length, 2, 'a flat curve on a power of ten still gets a decade');
});
