/**
 * An X/Y plot axis's values as a user types them: no VS Code here (unit tests run it). A comma list
 * ("1, 2, 3"); whole-number settings (seed, steps) also take ranges ("3-7" = 3, 4, 5, 6, 7); a sampler
 * by its id or A1111 name; a model by its id in the model list. Every value is checked with the
 * protocol's own bounds (XYAxis), and a refusal names the value and why.
 */
import {
  findSampler,
  unknownSamplerMessage,
  XY_MAX_CELLS,
  XY_MAX_VALUES,
  XY_SETTING_LABELS,
  XY_SETTINGS,
  XYAxis,
  type XYSetting,
} from '../../protocol';

export interface AxisChoice {
  setting: XYSetting;
  label: string;
  /** How to type its values, shown in the picker. */
  detail: string;
}

export const AXIS_CHOICES: readonly AxisChoice[] = XY_SETTINGS.map((setting) => ({
  setting,
  label: XY_SETTING_LABELS[setting],
  detail: {
    seed: 'whole numbers: "1, 2, 3" or a range "1-4"',
    guidanceScale: 'numbers: "1, 3, 5, 7.5"',
    steps: 'whole numbers: "4, 8, 16" or a range "2-6"',
    scheduler: 'sampler ids or names: "ddim, euler_a, DPM++ 2M"',
    model: 'model ids from the model list: "emoji-base, emoji-guided-4"',
  }[setting],
}));

export type ParsedAxis = { axis: XYAxis } | { error: string };

/** The values `text` means for `setting`; `models`: the model list's ids (for a model axis). */
export function parseAxisValues(setting: XYSetting, text: string, models: readonly string[] = []): ParsedAxis {
  const name = XY_SETTING_LABELS[setting];
  const items = text.split(',').map((t) => t.trim());
  if (items.every((t) => t === '')) return { error: `${name}: type at least one value` };
  const empty = items.findIndex((t) => t === '');
  if (empty >= 0) return { error: `${name}: value ${empty + 1} is empty (two commas in a row, or a comma at the end)` };
  const values: (number | string)[] = [];
  for (const item of items) {
    const r = parseItem(setting, item, models);
    if ('error' in r) return { error: `${name}: ${r.error}` };
    values.push(...r.values);
    if (values.length > XY_MAX_VALUES) return { error: `${name}: ${values.length}+ values; at most ${XY_MAX_VALUES} per axis` };
  }
  const checked = XYAxis.safeParse({ setting, values });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const k = Number(issue.path[1]);
    return { error: `${name}: "${values[k] ?? text}" is not allowed (${issue.message})` };
  }
  return { axis: checked.data };
}

/** A message when X and Y together would make too many cells, else undefined. */
export function tooManyCells(x: number, y: number): string | undefined {
  return x * y > XY_MAX_CELLS ? `${x} x ${y} = ${x * y} cells; at most ${XY_MAX_CELLS} (fewer values on one axis)` : undefined;
}

function parseItem(setting: XYSetting, item: string, models: readonly string[]): { values: (number | string)[] } | { error: string } {
  switch (setting) {
    case 'seed':
    case 'steps':
      return wholeNumbers(item);
    case 'guidanceScale':
      return /^[+]?(\d+\.?\d*|\.\d+)$/.test(item) ? { values: [Number(item)] } : { error: `"${item}" is not a number` };
    case 'scheduler': {
      const row = findSampler(item);
      return row ? { values: [row.id] } : { error: unknownSamplerMessage(item) };
    }
    case 'model':
      return models.includes(item) ? { values: [item] } : { error: `"${item}" is not in the model list (${models.join(', ') || 'no models found'})` };
  }
}

/** "7" or a range "3-7" / "7-3" (at most XY_MAX_VALUES long, so "1-4000000000" is refused, not expanded). */
function wholeNumbers(item: string): { values: number[] } | { error: string } {
  if (/^\d+$/.test(item)) return { values: [Number(item)] };
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(item);
  if (!range) return { error: `"${item}" is not a whole number or a range such as 3-7` };
  const [a, b] = [Number(range[1]), Number(range[2])];
  const n = Math.abs(b - a) + 1;
  if (n > XY_MAX_VALUES) return { error: `the range "${item}" has ${n} values; at most ${XY_MAX_VALUES} per axis` };
  const step = b >= a ? 1 : -1;
  return { values: Array.from({ length: n }, (_, k) => a + k * step) };
}
