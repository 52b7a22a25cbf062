/**
 * Results webview: running jobs with live step previews, then a gallery of this session's images,
 * grouped by job (an edit's eta sweep sits side by side), each with its parameters and actions, then
 * the workspace's history (history.ts).
 */
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { GalleryItem, JobView, ToWebview } from '../shared/messages';
import { el, onMessage, vscode } from '../shared/vscodeApi';
import { historySection, renderHistory } from './history';
import './results.css';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeProgressRing());

const jobs = new Map<string, JobView>();
const groups = new Map<string, GalleryItem[]>();

const jobsBox = el('section', { id: 'jobs', 'aria-label': 'Running jobs' });
const gallery = el('section', { id: 'gallery', 'aria-label': 'Results' });
const empty = el('p', { id: 'empty', class: 'muted' }, 'No images yet. Run "Diffusion Studio: Generate Image" or right-click an image and choose "Edit with Prompt".');
document.getElementById('app')!.append(jobsBox, empty, gallery, historySection);

onMessage((m: ToWebview) => {
  switch (m.type) {
    case 'init':
      jobs.clear();
      groups.clear();
      for (const j of m.jobs) jobs.set(j.jobId, j);
      addItems(m.items);
      renderJobs();
      return;
    case 'job':
      jobs.set(m.job.jobId, m.job);
      renderJobs();
      return;
    case 'items':
      addItems(m.items);
      return;
    case 'history':
      renderHistory(m.entries, m.query, m.total);
      return;
    default:
      return;
  }
});
vscode.postMessage({ type: 'ready' });

function addItems(items: GalleryItem[]): void {
  for (const i of items) {
    const g = groups.get(i.jobId) ?? [];
    g.push(i);
    groups.set(i.jobId, g);
  }
  renderGallery();
}

function renderJobs(): void {
  // Finished successfully: the gallery shows the result, the job card goes away.
  const visible = [...jobs.values()].filter((j) => j.state !== 'succeeded').slice(-5);
  jobsBox.replaceChildren(...visible.reverse().map(jobCard));
}

function jobCard(j: JobView): HTMLElement {
  const live = j.state === 'queued' || j.state === 'running';
  const pct = j.total > 0 ? Math.round((100 * j.step) / j.total) : 0;
  const status = live
    ? `${j.stage} ${j.total ? `${j.step}/${j.total}` : ''}${j.etaMs !== undefined ? ` · ${Math.ceil(j.etaMs / 1000)} s left` : ''}`
    : j.state === 'cancelled'
      ? 'cancelled'
      : `failed: ${j.error ?? ''}`;
  const card = el('div', { class: `job ${j.state}`, 'data-job': j.jobId },
    el('div', { class: 'job-head' }, el('strong', {}, j.title), el('span', { class: 'job-kind muted' }, j.kind)),
    el('div', { class: 'job-status' }, status),
  );
  if (live) {
    card.append(el('progress', { max: '100', value: String(pct) }));
    const cancel = el('vscode-button', { appearance: 'secondary', class: 'cancel' }, 'Cancel');
    cancel.addEventListener('click', () => vscode.postMessage({ type: 'cancel', jobId: j.jobId }));
    card.append(cancel);
  }
  if (j.preview) card.append(el('img', { class: 'preview', src: j.preview, alt: `step ${j.step} preview` }));
  return card;
}

function renderGallery(): void {
  empty.hidden = groups.size > 0;
  const newestFirst = [...groups.values()].reverse();
  gallery.replaceChildren(...newestFirst.map((g) => el('div', { class: `group ${g[0].kind}` }, ...g.map(itemCard))));
}

function itemCard(i: GalleryItem): HTMLElement {
  const action = (label: string, type: 'open' | 'reveal' | 'copyParams' | 'rerun' | 'edit', title: string) => {
    const b = el('vscode-button', { appearance: 'icon', 'aria-label': title, title, class: `action-${type}` }, label);
    b.addEventListener('click', () => vscode.postMessage({ type, id: i.id }));
    return b;
  };
  const img = el('img', { class: 'result', src: i.src, alt: i.title, 'data-id': i.id });
  img.addEventListener('dblclick', () => vscode.postMessage({ type: 'open', id: i.id }));
  return el('figure', { class: i.grid ? 'item sheet grid' : i.sheet ? 'item sheet' : 'item', 'data-id': i.id },
    img,
    el('figcaption', {}, i.title),
    el('div', { class: 'actions' },
      action('Open', 'open', 'Open the image'),
      action('Reveal', 'reveal', 'Reveal in the Explorer'),
      action('Copy', 'copyParams', 'Copy the parameters'),
      action('Re-run', 'rerun', 'Run again with the same seed'),
      action('Edit', 'edit', 'Edit with a prompt'),
    ),
    paramsTable(i.params),
  );
}

const HIDDEN_PARAMS = new Set(['outputDir', 'previewEvery', 'prompt']);

function paramsTable(params: Record<string, unknown>): HTMLElement {
  // Extra `Key: value` pairs of the PNG (e.g. Denoising strength) are shown as rows of their own.
  const rows = Object.entries(params)
    .flatMap(([k, v]) => (k === 'extra' && v !== null && typeof v === 'object' ? Object.entries(v) : [[k, v] as [string, unknown]]))
    .filter(([k, v]) => !HIDDEN_PARAMS.has(k) && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, String(v))));
  return el('details', { class: 'params' }, el('summary', {}, String(params.prompt ?? 'parameters')), el('table', {}, ...rows));
}
