// Fuzz of what the extension accepts from outside its own code: messages from its webviews (a webview
// is a browser page) and distillation tasks written in tasks.json. Every malformed input must be
// refused with one clear line naming the field, never crash and never pass; every valid one must pass.
// Figures: docs/RELIABILITY.md (node scripts/run-tests.mjs unit webview-fuzz).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDefinition } from '../../../src/extension/tasks/distillDefinition';
import { parseWebviewMessage } from '../../../webview-ui/shared/validate';
import { randomJson, rng } from '../../integration/sidecar/fuzz';

const N = 10_000;
type Case = { input: unknown; valid: boolean; names?: string };

const VALID_MESSAGES: Record<string, unknown>[] = [
  { type: 'ready' }, { type: 'open', id: 'item-1' }, { type: 'reveal', id: 'item-2' }, { type: 'copyParams', id: 'i' },
  { type: 'rerun', id: 'item-3' }, { type: 'edit', id: 'item-4' }, { type: 'cancel', jobId: 'job-1' },
  { type: 'generate', prompt: 'a cat' }, { type: 'generate', prompt: '' },
  { type: 'update', key: 'model', value: 'emoji-base' }, { type: 'update', key: 'guidanceScale', value: 7.5 },
  { type: 'update', key: 'guidanceScale', value: '7.5' }, { type: 'update', key: 'guidanceScale', value: null },
  { type: 'update', key: 'steps', value: 20 }, { type: 'update', key: 'steps', value: '4' }, { type: 'update', key: 'steps', value: null },
  { type: 'update', key: 'scheduler', value: 'euler_a' }, { type: 'update', key: 'scheduler', value: 'auto' },
  { type: 'update', key: 'seedMode', value: 'fixed' }, { type: 'update', key: 'seed', value: 42 },
  { type: 'update', key: 'seed', value: 4294967295 }, { type: 'update', key: 'negativePrompt', value: 'blurry' },
  { type: 'update', key: 'size', value: 512 }, { type: 'update', key: 'size', value: 0 },
];

/** Values no setting of that key accepts (as the webview could send them: numbers, strings, anything). */
const BAD_VALUES: Record<string, unknown[]> = {
  model: ['', 'x'.repeat(5000), 5, true, [], {}, null],
  guidanceScale: [-1, 101, 'x', '', 'NaN', NaN, Infinity, '1e400', true, [], {}],
  steps: [0, 1001, 2.5, 'abc', '', 'Infinity', -1, NaN, -Infinity, true, [], {}, '0x10'],
  seed: [-1, 2 ** 32, 1.5, 'seed', '', NaN, null, {}],
  size: [-8, 5000, 7.5, 'big', '', null, []],
  seedMode: ['sometimes', '', 5, null, 'RANDOM'],
  scheduler: ['nonsense', '', 5, null, 'euler a b', 'x'.repeat(300)],
  negativePrompt: ['x'.repeat(10_001), 5, null, []],
};
const BAD_IDS = [5, null, [], {}, '', 'x'.repeat(300), true, undefined];

function webviewCase(r: () => number, i: number): Case {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const base = { ...pick(VALID_MESSAGES) };
  switch (i % 9) {
    case 0:
      return { input: base, valid: true };
    case 1: {
      const v = randomJson(r, 3, false);
      return { input: v, valid: false, names: 'type' };
    }
    case 2:
      return { input: { ...base, type: pick(['', 'Ready', 'update ', '__proto__', 'constructor', 'toString', 'x'.repeat(500), 5, null, []]) }, valid: false, names: 'type' };
    case 3: {
      const field = pick(['id', 'jobId', 'prompt', 'key', 'value'].filter((f) => f in base));
      if (!field) return { input: { ...base, extra: 1 }, valid: false, names: 'extra' };
      const { [field]: _gone, ...rest } = base;
      return { input: rest, valid: false, names: field };
    }
    case 4: {
      const field = base.type === 'cancel' ? 'jobId' : base.type === 'generate' ? 'prompt' : 'id';
      const bad = field === 'prompt' ? pick([5, null, 'x'.repeat(10_001), [], {}]) : pick(BAD_IDS);
      return { input: { type: pick(['open', 'reveal', 'copyParams', 'rerun', 'edit', 'cancel', 'generate'].filter((t) => (field === 'jobId' ? t === 'cancel' : field === 'prompt' ? t === 'generate' : !['cancel', 'generate'].includes(t)))), [field]: bad }, valid: false, names: field };
    }
    case 5:
    case 6: {
      const key = pick(Object.keys(BAD_VALUES));
      return { input: { type: 'update', key, value: pick(BAD_VALUES[key]) }, valid: false, names: key };
    }
    case 7:
      return { input: { type: 'update', key: pick(['nodePath', '__proto__', 'constructor', 'sidecar.url', '', 5, null]), value: 1 }, valid: false, names: 'key' };
    default:
      return { input: { ...base, [pick(['extra', 'admin', 'command', 'then'])]: pick([1, 'x', null]) }, valid: false, names: 'extra|admin|command|then' };
  }
}

const VALID_TASKS: Record<string, unknown>[] = [
  { type: 'diffusion-distill', mode: 'guided', teacher: 'emoji-base', targetSteps: 4 },
  { type: 'diffusion-distill', mode: 'progressive', teacher: '/models/x', teacherSteps: 64, targetSteps: 8, iterations: 200, outputFolder: 'out/student' },
  { type: 'diffusion-distill', mode: 'guided', teacher: 'm', guidanceRange: [2, 8], studentChannels: 32 },
];
const BAD_TASK_VALUES: Record<string, unknown[]> = {
  mode: ['fast', 5, null, '', 'Guided'],
  teacher: ['', '   ', 5, null, [], 'x'.repeat(5000)],
  teacherSteps: [0, 1, 5000, 2.5, '8', NaN, -1, true, null],
  targetSteps: [0, 4097, 1.5, '4', Infinity, null],
  iterations: [0, 1e8, 0.5, 'many', null],
  outputFolder: [5, '', [], {}, null, 'x'.repeat(5000)],
  guidanceRange: [[5], [1, 2, 3], ['a', 1], [1, 'b'], [-1, 5], [1, 101], [8, 2], 'x', {}, null],
  studentChannels: [7, 2.5, 5000, '32', null],
};

function taskCase(r: () => number, i: number): Case {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const base = { ...pick(VALID_TASKS) };
  switch (i % 5) {
    case 0:
      return { input: base, valid: true };
    case 1: {
      const field = pick(['mode', 'teacher']);
      const { [field]: _gone, ...rest } = base;
      return { input: rest, valid: false, names: field };
    }
    case 2:
      return { input: { type: 'diffusion-distill', ...(randomJson(r, 2, true) as object), mode: 'sideways' }, valid: false, names: 'mode' };
    default: {
      const key = pick(Object.keys(BAD_TASK_VALUES));
      return { input: { ...base, [key]: pick(BAD_TASK_VALUES[key]) }, valid: false, names: key };
    }
  }
}

/** Runs the cases; asserts each verdict and that every refusal is one line naming the field. */
function fuzz(name: string, make: (r: () => number, i: number) => Case, check: (input: unknown) => string | undefined): void {
  const r = rng(17);
  let accepted = 0;
  let refused = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const c = make(r, i);
    let error: string | undefined;
    assert.doesNotThrow(() => (error = check(c.input)), `${name} #${i} threw on ${JSON.stringify(c.input)?.slice(0, 200)}`);
    const shown = JSON.stringify(c.input)?.slice(0, 200);
    if (c.valid) {
      assert.equal(error, undefined, `${name} #${i}: a valid input was refused: ${shown}: ${error}`);
      accepted++;
      continue;
    }
    assert.ok(error, `${name} #${i}: a malformed input passed: ${shown}`);
    assert.ok(!error.includes('\n') && error.length <= 300, `${name} #${i}: not one short line: ${error}`);
    assert.match(error, new RegExp(c.names!), `${name} #${i}: the error does not name ${c.names}: ${error} (${shown})`);
    refused++;
  }
  console.log(`# ${name}: ${N} inputs, ${refused} malformed refused (each naming the field), ${accepted} valid accepted, 0 crashes, ${(performance.now() - t0).toFixed(0)} ms`);
}

test('webview messages: every malformed one refused with a clear error, every valid one accepted', () => {
  fuzz('webview messages', webviewCase, (m) => {
    const r = parseWebviewMessage(m);
    return 'error' in r ? r.error : undefined;
  });
});

test('tasks.json distillation definitions: every malformed one refused naming the field, every valid one accepted', () => {
  fuzz('tasks.json definitions', taskCase, checkDefinition);
});

test('a webview value typed as text becomes the number the setting holds', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'update', key: 'steps', value: ' 12 ' }), { message: { type: 'update', key: 'steps', value: 12 } });
  assert.deepEqual(parseWebviewMessage({ type: 'update', key: 'guidanceScale', value: null }), { message: { type: 'update', key: 'guidanceScale', value: null } });
  assert.match((parseWebviewMessage({ type: 'update', key: 'steps', value: 5000 }) as { error: string }).error, /^steps: .*1000/);
});
