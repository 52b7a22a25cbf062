/**
 * PNG info webview: the image, its prompt, negative prompt and `Key: value` parameters (as an A1111
 * `parameters` chunk holds them), and two actions: Re-run with these parameters, Copy parameters.
 */
import { provideVSCodeDesignSystem, vsCodeButton } from '@vscode/webview-ui-toolkit';
import type { PngInfoView, ToWebview } from '../shared/messages';
import { el, onMessage, vscode } from '../shared/vscodeApi';
import './pngInfo.css';

provideVSCodeDesignSystem().register(vsCodeButton());

const app = document.getElementById('app')!;
app.append(el('p', { class: 'muted' }, 'Reading the PNG…'));

onMessage((m: ToWebview) => {
  if (m.type === 'pngInfo') render(m.info);
});
vscode.postMessage({ type: 'ready' });

function render(i: PngInfoView): void {
  const rerun = el('vscode-button', { id: 'rerun', appearance: 'primary' }, 'Re-run with these parameters');
  rerun.addEventListener('click', () => vscode.postMessage({ type: 'rerunParams' }));
  const copy = el('vscode-button', { id: 'copy', appearance: 'secondary' }, 'Copy parameters');
  copy.addEventListener('click', () => vscode.postMessage({ type: 'copyInfo' }));
  const rows = i.fields.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, v)));
  app.replaceChildren(
    el('h1', { id: 'name' }, i.name),
    el('div', { class: 'layout' },
      el('img', { id: 'image', src: i.src, alt: i.prompt }),
      el('div', { class: 'details' },
        el('h2', {}, 'Prompt'),
        el('p', { id: 'prompt' }, i.prompt),
        el('h2', {}, 'Negative prompt'),
        el('p', { id: 'negative', class: i.negativePrompt ? '' : 'muted' }, i.negativePrompt || '(none)'),
        el('table', { id: 'fields', 'aria-label': 'Parameters' }, ...rows),
        el('div', { class: 'actions' }, rerun, copy),
        el('details', {}, el('summary', {}, 'As stored in the PNG'), el('pre', { id: 'text' }, i.text)),
      ),
    ),
  );
}
