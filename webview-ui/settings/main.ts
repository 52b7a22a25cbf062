/**
 * Guidance side panel: the settings the next generation uses, written back to diffusionStudio.* on
 * every change, and a prompt box with a Generate button.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeRadio,
  vsCodeRadioGroup,
  vsCodeTextArea,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import { NULLABLE_KEYS, type GuidanceSettings, type ModelChoice, type SchedulerChoice, type SettingsDefaults, type ToWebview } from '../shared/messages';
import { el, onMessage, vscode } from '../shared/vscodeApi';
import './settings.css';

provideVSCodeDesignSystem().register(
  vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeRadio(), vsCodeRadioGroup(), vsCodeTextArea(), vsCodeTextField(),
);

type FieldEl = HTMLElement & { value: string; disabled?: boolean };

const field = (label: string, control: HTMLElement, hint?: HTMLElement) =>
  el('div', { class: 'field' }, el('label', { for: control.id }, label), control, ...(hint ? [hint] : []));

const prompt = el('vscode-text-area', { id: 'prompt', rows: '3', resize: 'vertical', placeholder: 'Describe the image' }) as FieldEl;
const generate = el('vscode-button', { id: 'generate', appearance: 'primary' }, 'Generate');
const model = el('vscode-dropdown', { id: 'model' }) as FieldEl;
const modelHint = el('p', { id: 'modelHint', class: 'hint' });
const scaleRange = el('input', { id: 'guidanceScaleRange', type: 'range', min: '0', max: '20', step: '0.5', 'aria-label': 'Guidance scale' }) as HTMLInputElement;
// Empty guidance/steps fields mean "the model's own" (the placeholder says so; render() adds the fallback).
const scale = el('vscode-text-field', { id: 'guidanceScale', type: 'number', size: '5', placeholder: 'model' }) as FieldEl;
const scaleHint = el('p', { id: 'scaleHint', class: 'hint' });
const steps = el('vscode-text-field', { id: 'steps', type: 'number', size: '5', placeholder: 'model' }) as FieldEl;
const scheduler = el('vscode-dropdown', { id: 'scheduler' }) as FieldEl;
const seedMode = el('vscode-radio-group', { id: 'seedMode' },
  el('vscode-radio', { value: 'random' }, 'Random'),
  el('vscode-radio', { value: 'fixed' }, 'Fixed'),
) as FieldEl;
const seed = el('vscode-text-field', { id: 'seed', type: 'number', size: '10' }) as FieldEl;
const negative = el('vscode-text-area', { id: 'negativePrompt', rows: '2', resize: 'vertical', placeholder: 'What to steer away from' }) as FieldEl;
const size = el('vscode-dropdown', { id: 'size' }) as FieldEl;

document.getElementById('app')!.append(
  el('div', { class: 'prompt-box' }, prompt, generate),
  field('Model', model, modelHint),
  field('Guidance scale', el('div', { class: 'row' }, scaleRange, scale), scaleHint),
  field('Steps', steps),
  field('Scheduler', scheduler),
  field('Seed', el('div', { class: 'row' }, seedMode, seed)),
  field('Negative prompt', negative),
  field('Size', size),
);

let models: ModelChoice[] = [];
let current: GuidanceSettings | undefined;

const send = (key: keyof GuidanceSettings, value: string | number | null) => vscode.postMessage({ type: 'update', key, value });
const numeric = (key: keyof GuidanceSettings, f: FieldEl) =>
  f.addEventListener('change', () => {
    // Clearing a field that may be left to the model hands it back to the model.
    if (f.value.trim() === '') return NULLABLE_KEYS.has(key) ? send(key, null) : undefined;
    const v = Number(f.value);
    if (Number.isFinite(v)) send(key, v);
  });

numeric('guidanceScale', scale);
numeric('steps', steps);
numeric('seed', seed);
scaleRange.addEventListener('input', () => (scale.value = scaleRange.value));
scaleRange.addEventListener('change', () => send('guidanceScale', Number(scaleRange.value)));
model.addEventListener('change', () => send('model', model.value));
scheduler.addEventListener('change', () => send('scheduler', scheduler.value));
size.addEventListener('change', () => send('size', Number(size.value)));
negative.addEventListener('change', () => send('negativePrompt', negative.value));
seedMode.addEventListener('change', () => {
  if (seedMode.value === 'random' || seedMode.value === 'fixed') send('seedMode', seedMode.value);
});
generate.addEventListener('click', () => vscode.postMessage({ type: 'generate', prompt: prompt.value }));
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) vscode.postMessage({ type: 'generate', prompt: prompt.value });
});

onMessage((m: ToWebview) => {
  if (m.type === 'prompt') {
    prompt.value = m.prompt;
    prompt.focus();
    return;
  }
  if (m.type !== 'settings') return;
  models = m.models;
  current = m.settings;
  render(m.settings, m.schedulers, m.defaults, m.busy);
});
vscode.postMessage({ type: 'ready' });

function options(dropdown: FieldEl, values: Array<{ value: string; label: string }>, selected: string): void {
  if (!values.some((v) => v.value === selected)) values.unshift({ value: selected, label: selected });
  dropdown.replaceChildren(...values.map((v) => el('vscode-option', { value: v.value }, v.label)));
  dropdown.value = selected;
}

/** Sets a field unless the user is typing in it (a settings echo must not undo their keystrokes). */
function setValue(f: FieldEl, v: string): void {
  if (document.activeElement !== f && f.value !== v) f.value = v;
}

function render(s: GuidanceSettings, schedulers: SchedulerChoice[], defaults: SettingsDefaults, busy: boolean): void {
  options(model, models.map((m) => ({ value: m.id, label: m.name + (m.distilledSteps ? ` (${m.distilledSteps} steps)` : '') })), s.model);
  options(scheduler, [...schedulers], s.scheduler);
  const sizes = [0, 32, 64, 128, 256, 512, 768, 1024].map((v) => ({ value: String(v), label: v === 0 ? "model's native" : `${v} × ${v}` }));
  options(size, sizes, String(s.size));
  setValue(scale, s.guidanceScale === null ? '' : String(s.guidanceScale));
  scaleRange.value = String(s.guidanceScale ?? defaults.guidanceScale);
  setValue(steps, s.steps === null ? '' : String(s.steps));
  scale.title = `Empty: the model's own, else ${defaults.guidanceScale}`;
  steps.title = `Empty: the model's own, else ${defaults.steps}`;
  setValue(seed, String(s.seed));
  setValue(negative, s.negativePrompt);
  seedMode.value = s.seedMode;
  seed.disabled = s.seedMode === 'random';
  const student = models.find((m) => m.id === s.model);
  steps.disabled = Boolean(student?.distilledSteps);
  modelHint.textContent = student?.distilledSteps
    ? `Distilled student: samples in ${student.distilledSteps} steps.`
    : '';
  scaleHint.textContent = student?.guidanceRange
    ? `Guidance is an input of this student (${student.guidanceRange[0]}–${student.guidanceRange[1]}): one UNet evaluation per step.`
    : 'Classifier-free guidance: two UNet evaluations per step (conditional and unconditional).';
  generate.toggleAttribute('disabled', busy);
  generate.textContent = busy ? 'Generating…' : 'Generate';
  void current;
}
