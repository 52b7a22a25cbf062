/**
 * Distillation progress webview: the loss chart (chart.ts: phases side by side, log scale), the sample
 * row of each finished phase, the latest step, and the losses as a table (the chart in words). The page
 * is built once and its parts updated in place, so the focus and the table's open state survive the
 * updates that arrive several times a second.
 */
import type { DistillProgressView, PhaseView, SampleRow, ToWebview } from '../shared/messages';
import { el, onMessage, vscode } from '../shared/vscodeApi';
import { CHART_BOX, chartLayout } from './chart';
import './distill.css';

const SVG = 'http://www.w3.org/2000/svg';
/** Curve colours cycle through this many classes (distill.css: VS Code's chart colours). */
const COLOURS = 6;

const title = el('h1', { id: 'title' }, 'Distillation');
const status = el('p', { id: 'status', role: 'status' }, 'Waiting for the task…');
const chart = svg('svg', { id: 'loss-chart', viewBox: `0 0 ${CHART_BOX.width} ${CHART_BOX.height}`, role: 'img', 'aria-label': 'Loss curve, no loss yet' });
const table = el('table', { id: 'loss-table' });
const samples = el('div', { id: 'samples' });
document.getElementById('app')!.append(
  title,
  status,
  el('h2', {}, 'Loss'),
  chart,
  el('details', { id: 'loss-details' }, el('summary', {}, 'Loss by phase'), table),
  el('h2', {}, 'Samples of each finished phase (same prompts and seeds)'),
  samples,
);

onMessage((m: ToWebview) => {
  if (m.type === 'distill') render(m.view);
});
vscode.postMessage({ type: 'ready' });

function render(v: DistillProgressView): void {
  title.textContent = v.title;
  status.textContent = `${v.status}: ${v.line}`;
  status.className = v.status;
  drawChart(v);
  table.replaceChildren(
    el('tr', {}, ...['Phase', 'Steps seen', 'Latest loss', 'Lowest loss'].map((h) => el('th', { scope: 'col' }, h))),
    ...v.phases.map((p) => el('tr', {}, el('th', { scope: 'row' }, phaseName(p)), el('td', {}, String(p.received)), el('td', {}, fmt(p.lastLoss)), el('td', {}, fmt(lowest(p))))),
  );
  drawSamples(v.samples);
}

function drawChart(v: DistillProgressView): void {
  const layout = chartLayout(v.phases, v.rounds);
  const latest = v.phases.at(-1)?.lastLoss;
  chart.setAttribute('aria-label', `Loss curve, ${v.phases.length} phase${v.phases.length === 1 ? '' : 's'}${latest !== undefined ? `; latest loss ${latest.toPrecision(4)}` : ''}`);
  const { width, height, pad } = CHART_BOX;
  chart.replaceChildren(
    ...layout.ticks.flatMap((t) => [
      svg('line', { class: 'grid', x1: String(pad.left), x2: String(width - pad.right), y1: String(t.y), y2: String(t.y) }),
      text(pad.left - 4, t.y + 4, t.label, 'end'),
    ]),
    ...layout.separators.map((x) => svg('line', { class: 'separator', x1: String(x), x2: String(x), y1: String(pad.top), y2: String(height - pad.bottom) })),
    ...layout.slots.map((s) => text(s.x, height - 6, s.label, 'middle')),
    ...layout.curves.map((c) => svg('path', { class: `curve c${(c.round - 1) % COLOURS}`, 'data-round': String(c.round), d: c.d })),
  );
}

/** Sample rows are added as their phases finish; a row already shown is left alone (no flicker). */
function drawSamples(rows: SampleRow[]): void {
  for (const r of rows) {
    const src = `data:image/png;base64,${r.png}`;
    const shown = samples.querySelector<HTMLElement>(`figure[data-round="${r.round}"]`);
    if (shown?.querySelector('img')?.getAttribute('src') === src) continue;
    const caption = `Phase ${r.round}${r.studentSteps ? `, ${r.studentSteps}-step student` : ''}`;
    const figure = el('figure', { class: 'sample-row', 'data-round': String(r.round), tabindex: '0' },
      el('figcaption', {}, caption),
      el('img', { src, alt: `Samples of phase ${r.round}${r.studentSteps ? `, drawn by the ${r.studentSteps}-step student` : ''}` }));
    if (shown) shown.replaceWith(figure);
    else samples.append(figure);
  }
}

/** "1 (round, 4 steps)": the phase's number, its kind and the steps its student samples with. */
function phaseName(p: PhaseView): string {
  const kind = p.kind === 'stage1' ? 'guidance as input' : 'round';
  return `${p.round} (${kind}${p.studentSteps ? `, ${p.studentSteps} steps` : ''})`;
}

/** The lowest point of the phase's curve (points are bucket means once a phase is long). */
function lowest(p: PhaseView): number | undefined {
  return p.points.length ? Math.min(...p.points.map((q) => q.loss)) : undefined;
}

function fmt(v: number | undefined): string {
  return v === undefined ? '–' : v.toPrecision(4);
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end'): SVGElement {
  const t = svg('text', { x: String(x), y: String(y), 'text-anchor': anchor, class: 'axis' });
  t.textContent = content;
  return t;
}

function svg(tag: string, attrs: Record<string, string>): SVGElement {
  const e = document.createElementNS(SVG, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
