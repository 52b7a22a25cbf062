/**
 * Diffusion Studio: X/Y Plot (palette): the prompt (recent ones offered), the X setting and its values,
 * the Y setting and its values, each typed value checked as it is typed (axisValues.ts); then one
 * sidecar job whose cells and grid land in the results panel. Every other setting is the side panel's.
 * With `args` (tests, other extensions) the questions answered there are not asked; typed values in
 * `args` go through the same checks and a bad one is an error naming it.
 */
import * as vscode from 'vscode';
import { XY_SETTING_LABELS, XY_SETTINGS, type XYAxis, type XYSetting } from '../../protocol';
import { readSettings } from '../config';
import type { JobService, ResultItem } from '../jobs';
import type { ModelCatalog } from '../models';
import type { PromptHistory } from '../prompts';
import { AXIS_CHOICES, parseAxisValues, tooManyCells } from './axisValues';

export interface XYPlotArgs {
  prompt?: string;
  x?: { setting: XYSetting; values: string };
  y?: { setting: XYSetting; values: string };
}

export interface XYPlotDeps {
  jobs: JobService;
  models: ModelCatalog;
  prompts: PromptHistory;
  showResults(): void;
}

const TITLE = 'Diffusion Studio: X/Y Plot';

export async function xyPlot(d: XYPlotDeps, args: XYPlotArgs = {}): Promise<ResultItem[] | undefined> {
  const prompt = args.prompt ?? (await d.prompts.ask(TITLE, 'The prompt of every cell (Enter to go on to the axes)'));
  if (!prompt) return undefined;
  const models = (await d.models.list()).map((m) => m.id);
  const x = await axis(d, 'X', args.x, models);
  if (!x) return undefined;
  const y = await axis(d, 'Y', args.y, models, x);
  if (!y) return undefined;
  await d.prompts.remember(prompt);
  d.showResults();
  return d.jobs.xyplot(prompt, x, y);
}

async function axis(d: XYPlotDeps, which: 'X' | 'Y', given: XYPlotArgs['x'], models: string[], other?: XYAxis): Promise<XYAxis | undefined> {
  if (given) return checked(which, given.setting, given.values, models, other);
  const setting = await pickSetting(which, other?.setting);
  if (!setting) return undefined;
  const text = await vscode.window.showInputBox({
    title: `${TITLE}: ${which} = ${XY_SETTING_LABELS[setting]}`,
    prompt: `${AXIS_CHOICES.find((c) => c.setting === setting)!.detail}${setting === 'model' ? ` (listed: ${models.join(', ')})` : ''}`,
    value: suggestion(setting, models),
    ignoreFocusOut: true,
    validateInput: (v) => problem(parseAxisValues(setting, v, models), other),
  });
  return text === undefined ? undefined : checked(which, setting, text, models, other);
}

function pickSetting(which: 'X' | 'Y', taken?: XYSetting): Thenable<XYSetting | undefined> {
  const items = AXIS_CHOICES.filter((c) => c.setting !== taken).map((c) => ({ label: c.label, detail: c.detail, setting: c.setting }));
  return vscode.window
    .showQuickPick(items, { title: `${TITLE}: the ${which} axis varies`, placeHolder: `Setting of the ${which === 'X' ? 'columns' : 'rows'}`, ignoreFocusOut: true })
    .then((p) => p?.setting);
}

function problem(r: ReturnType<typeof parseAxisValues>, other?: XYAxis): string | undefined {
  if ('error' in r) return r.error;
  return other ? tooManyCells(other.values.length, r.axis.values.length) : undefined;
}

function checked(which: 'X' | 'Y', setting: XYSetting, text: string, models: string[], other?: XYAxis): XYAxis {
  if (!XY_SETTINGS.includes(setting)) throw new Error(`X/Y Plot: ${which} axis: unknown setting "${String(setting)}" (one of ${XY_SETTINGS.join(', ')})`);
  const r = parseAxisValues(setting, text, models);
  const why = problem(r, other) ?? (other?.setting === setting ? `X and Y both vary ${setting}` : undefined);
  if (why || 'error' in r) throw new Error(`X/Y Plot: ${which} axis: ${why}.`);
  return r.axis;
}

/** What the input box starts with: a small useful sweep around the current settings. */
function suggestion(setting: XYSetting, models: string[]): string {
  const s = readSettings();
  switch (setting) {
    case 'seed':
      return s.seedMode === 'fixed' ? `${s.seed}-${Math.min(s.seed + 3, 2 ** 32 - 1)}` : '1-4';
    case 'guidanceScale':
      return '1, 3, 5, 7.5';
    case 'steps':
      return '4, 8, 16';
    case 'scheduler':
      return 'ddim, euler_a, dpmpp_2m';
    case 'model':
      return [s.model, ...models.filter((m) => m !== s.model)].slice(0, 4).join(', ');
  }
}
