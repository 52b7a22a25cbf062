/**
 * What the extension accepts from a webview. A webview is a browser page: its messages are input,
 * checked here in full (shape and value) before the extension acts on one, and a refused message is
 * answered with one line naming the field. The value bounds are the protocol's own (GenerateParams),
 * so a setting the panel may write is a value a job accepts. Used by the extension only: the webviews
 * do not bundle zod.
 */
import { z } from 'zod';
import { findSampler, GenerateParams } from '../../src/protocol';
import { HISTORY_ACTIONS, NULLABLE_KEYS, type FromWebview, type GuidanceSettings } from './messages';

/** A field typed in the panel arrives as text; a number setting holds its number (decimal text only: not "0x10"). */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;
const numeric = (schema: z.ZodNumber) => z.preprocess((v) => (typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v), schema);
const p = GenerateParams.shape;

const SETTING_VALUES: { [K in keyof GuidanceSettings]: z.ZodType } = {
  model: p.model,
  guidanceScale: numeric(p.guidanceScale.unwrap()),
  steps: numeric(p.steps.unwrap()),
  scheduler: z.string().max(100).refine((s) => s === 'auto' || findSampler(s) !== undefined, 'not a known sampler, nor "auto"'),
  seedMode: z.enum(['random', 'fixed']),
  seed: numeric(p.seed.unwrap()),
  negativePrompt: p.negativePrompt.unwrap(),
  size: numeric(z.number().int().min(0).max(4096)),
};
const SETTING_KEYS = Object.keys(SETTING_VALUES) as [keyof GuidanceSettings, ...(keyof GuidanceSettings)[]];

const id = z.string().min(1).max(256);
const MESSAGE = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.enum(['open', 'reveal', 'copyParams', 'rerun', 'edit']), id }),
  z.strictObject({ type: z.literal('cancel'), jobId: id }),
  z.strictObject({ type: z.literal('generate'), prompt: p.prompt }),
  z.strictObject({ type: z.literal('update'), key: z.enum(SETTING_KEYS), value: z.unknown() }),
  z.strictObject({ type: z.enum(['rerunParams', 'copyInfo']) }),
  z.strictObject({ type: z.literal('historySearch'), query: z.string().max(1000) }),
  z.strictObject({ type: z.literal('historyAction'), action: z.enum(HISTORY_ACTIONS), path: p.model }),
]);

/** A value for one guidance setting, checked (text numbers made numbers), or why it does not fit. */
export function checkSetting(key: keyof GuidanceSettings, value: unknown): { value: string | number } | { error: string } {
  const r = SETTING_VALUES[key].safeParse(value);
  return r.success ? { value: r.data as string | number } : { error: r.error.issues[0].message };
}

/** The message, its values checked (and text numbers made numbers), or the one-line reason it is refused. */
export function parseWebviewMessage(m: unknown): { message: FromWebview } | { error: string } {
  const shape = MESSAGE.safeParse(m);
  if (!shape.success) return { error: firstIssue(shape.error, m) };
  const msg = shape.data;
  if (msg.type !== 'update') return { message: msg };
  if (msg.value === null) {
    return NULLABLE_KEYS.has(msg.key) ? { message: { ...msg, value: null } } : { error: `${msg.key}: cannot be left empty` };
  }
  const value = checkSetting(msg.key, msg.value);
  if ('error' in value) return { error: `${msg.key}: ${value.error}` };
  return { message: { type: 'update', key: msg.key, value: value.value } };
}

/** "field: problem" for the first issue; a message that is no object at all is said to be one. */
function firstIssue(error: z.ZodError, m: unknown): string {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return `a webview message must be an object with a "type" (got ${Array.isArray(m) ? 'an array' : m === null ? 'null' : typeof m})`;
  const issue = error.issues[0];
  const path = issue.path.join('.') || 'message';
  if (issue.path.length === 1 && (m as Record<string, unknown>)[issue.path[0] as string] === undefined) return `${path}: missing`;
  if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: not a field of this message`;
  if (path === 'type') return `type: ${JSON.stringify((m as { type?: unknown }).type)?.slice(0, 40) ?? 'missing'} is not a message type`;
  return `${path}: ${issue.message}`;
}
