/**
 * The results panel's History: every PNG of the workspace with parameters (made here, on the command
 * line, or by another A1111-style tool), newest first, searchable by prompt, with Open, Reveal, Copy,
 * Re-run and Delete (to the trash). The search runs in the extension; this only renders.
 */
import { HISTORY_ACTIONS, type HistoryAction, type HistoryView } from '../shared/messages';
import { el, vscode } from '../shared/vscodeApi';

const LABELS: Record<HistoryAction, [string, string]> = {
  open: ['Open', 'Open the image'],
  reveal: ['Reveal', 'Reveal in the Explorer'],
  copy: ['Copy', 'Copy the parameters'],
  rerun: ['Re-run', 'Generate again with these parameters'],
  delete: ['Delete', 'Move the file to the trash'],
};

const search = el('input', { id: 'history-search', type: 'search', placeholder: 'Search past images by prompt', 'aria-label': 'Search the history by prompt' }) as HTMLInputElement;
const count = el('span', { id: 'history-count', class: 'muted' });
const list = el('div', { id: 'history-list', role: 'list' });
export const historySection = el('section', { id: 'history', 'aria-label': 'History' },
  el('h2', {}, 'History ', count),
  search,
  list,
);

let timer: ReturnType<typeof setTimeout> | undefined;
search.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(() => vscode.postMessage({ type: 'historySearch', query: search.value }), 150);
});

export function renderHistory(entries: HistoryView[], query: string, total: number): void {
  if (document.activeElement !== search && search.value !== query) search.value = query;
  count.textContent = query ? `(${entries.length} of ${total})` : `(${total})`;
  if (!entries.length) {
    list.replaceChildren(el('p', { class: 'muted' }, total ? 'No image of the workspace matches.' : 'No PNG with generation parameters in the workspace yet.'));
    return;
  }
  list.replaceChildren(...entries.map(entryRow));
}

function entryRow(e: HistoryView): HTMLElement {
  const actions = HISTORY_ACTIONS.map((action) => {
    const [label, title] = LABELS[action];
    const b = el('vscode-button', { appearance: 'icon', 'aria-label': `${title}: ${e.name}`, title, class: `history-${action}` }, label);
    b.addEventListener('click', () => vscode.postMessage({ type: 'historyAction', action, path: e.path }));
    return b;
  });
  return el('div', { class: `history-item ${e.kind}`, role: 'listitem', 'data-path': e.path },
    el('img', { src: e.src, alt: e.prompt, loading: 'lazy' }),
    el('div', { class: 'history-text' },
      el('div', { class: 'history-prompt' }, e.prompt || '(no prompt)'),
      el('div', { class: 'history-meta muted' }, `${e.name} · ${new Date(e.mtimeMs).toLocaleString()}${e.kind === 'generate' ? '' : ` · ${e.kind}`}`),
      el('div', { class: 'history-meta muted' }, e.summary),
      el('div', { class: 'actions' }, ...actions),
    ),
  );
}
