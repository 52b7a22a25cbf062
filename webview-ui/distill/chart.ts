/**
 * The loss chart's geometry, without the DOM (the unit tests read it): the phases side by side along x,
 * each in an equal slot (the planned number of phases, so a slot does not move as later phases start),
 * x within a slot the step over the phase's steps; y log10 of the loss, with ticks at the powers of ten
 * that span the data (losses fall by decades while training; a linear scale flattens all but the start).
 */
import type { PhaseView } from '../shared/messages';

export interface ChartBox {
  width: number;
  height: number;
  /** Room around the plot: left for the tick labels, bottom for the phase labels. */
  pad: { left: number; right: number; top: number; bottom: number };
}

export interface ChartLayout {
  /** One path per phase with a positive loss, in phase order. */
  curves: Array<{ round: number; d: string }>;
  /** Horizontal grid lines and their labels (`1e-2`), top to bottom. */
  ticks: Array<{ y: number; label: string }>;
  /** Slot boundaries between phases. */
  separators: number[];
  /** Each slot's label (`phase 1`) at its centre. */
  slots: Array<{ x: number; label: string }>;
}

export const CHART_BOX: ChartBox = { width: 640, height: 220, pad: { left: 44, right: 8, top: 8, bottom: 24 } };

export function chartLayout(phases: PhaseView[], planned: number | undefined, box: ChartBox = CHART_BOX): ChartLayout {
  const n = Math.max(planned ?? 0, ...phases.map((p) => p.round), 1);
  const left = box.pad.left;
  const plotW = box.width - box.pad.left - box.pad.right;
  const slot = plotW / n;
  const losses = phases.flatMap((p) => p.points.map((q) => q.loss)).filter((l) => l > 0 && Number.isFinite(l));
  const lo = losses.length ? Math.floor(Math.log10(Math.min(...losses))) : -3;
  let hi = losses.length ? Math.ceil(Math.log10(Math.max(...losses))) : 0;
  if (hi === lo) hi = lo + 1; // a flat curve on an exact power of ten still gets a decade
  const top = box.pad.top;
  const plotH = box.height - box.pad.top - box.pad.bottom;
  const y = (loss: number) => top + ((hi - Math.log10(loss)) / (hi - lo)) * plotH;
  const ticks = [];
  for (let e = hi; e >= lo; e--) ticks.push({ y: round1(y(10 ** e)), label: `1e${e}` });
  const curves = phases
    .map((p) => {
      const pts = p.points.filter((q) => q.loss > 0 && Number.isFinite(q.loss));
      // Without the phase's total the last point so far marks the slot's end.
      const extent = Math.max(p.total ?? 0, ...pts.map((q) => q.step), 1);
      const x0 = left + (p.round - 1) * slot;
      const xs = pts.map((q) => round1(x0 + (q.step / extent) * slot));
      const d = pts.map((q, i) => `${i ? 'L' : 'M'}${xs[i]} ${round1(y(q.loss))}`).join(' ');
      // A single point still shows: a zero-length segment, drawn with round caps.
      return { round: p.round, d: pts.length === 1 ? `${d} h0` : d };
    })
    .filter((c) => c.d);
  const separators = Array.from({ length: n - 1 }, (_, k) => round1(left + (k + 1) * slot));
  const slots = Array.from({ length: n }, (_, k) => ({ x: round1(left + (k + 0.5) * slot), label: `phase ${k + 1}` }));
  return { curves, ticks, separators, slots };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
