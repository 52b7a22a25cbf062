/**
 * A seeded generator of malformed protocol messages: random text, random JSON, and valid requests
 * broken in one way that the schema must catch (wrong version, unknown type, extra key, missing id,
 * non-finite or absurd numbers, wrong types, truncation, over-long strings, deep nesting).
 * Every message it makes is invalid, so every one must be answered with an error.
 */
import { Rng } from '../../../src/sidecar/graph/init';

export function rng(seed: number): () => number {
  const g = new Rng(seed); // the engine's mulberry32: the same stream as before for the same seed
  return () => g.next();
}

const VALID = (id: string): Record<string, unknown>[] => [
  { v: 1, id, type: 'hello' },
  { v: 1, id, type: 'ping' },
  { v: 1, id, type: 'listModels' },
  { v: 1, id, type: 'cancel', jobId: 'job-1' },
  { v: 1, id, type: 'jobStatus', jobId: 'job-1' },
  { v: 1, id, type: 'generate', params: { model: 'm', prompt: 'a cat', steps: 4, guidanceScale: 7.5, width: 64, height: 64, seed: 1 } },
  { v: 1, id, type: 'edit', params: { model: 'm', image: 'x.png', prompt: 'a dog', etas: [0.5, 1] } },
  { v: 1, id, type: 'distill', params: { teacher: 'm', outputDir: 'out', method: 'progressive', teacherSteps: 8 } },
];
const NUMERIC: Record<string, string[]> = {
  generate: ['steps', 'guidanceScale', 'width', 'height', 'seed'],
  edit: [],
  distill: ['teacherSteps'],
};
/** Raw JSON texts that no bounded numeric field accepts (NaN and Infinity are not even JSON). */
const BAD_NUMBERS = ['NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '1e12', '-1e12', '"7"', 'null', 'true', '[]', '{}'];

export function makeMalformed(r: () => number, i: number): string | Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const id = `f${i}`;
  const base = pick(VALID(id));
  const text = () => JSON.stringify(base);
  switch (i % 12) {
    case 0:
      return randomText(r, 1 + Math.floor(r() * 200));
    case 1:
      return JSON.stringify(randomJson(r, 3, false));
    case 2:
      return JSON.stringify({ ...base, v: pick([0, 2, '1', null, -1, 1.5]) });
    case 3:
      return JSON.stringify({ ...base, type: pick(['', 'Hello', 'generate ', 'rm -rf', 'constructor', '__proto__', 'x'.repeat(500)]) });
    case 4:
      return JSON.stringify({ ...base, [pick(['extra', 'params2', 'admin', '__proto__x'])]: 1 });
    case 5: {
      const { id: _id, ...rest } = base;
      return JSON.stringify(rest);
    }
    case 6: {
      const kind = base.type as string;
      const fields = NUMERIC[kind] ?? [];
      if (fields.length === 0) return JSON.stringify({ ...base, id: pick([0, null, '', [], 'x'.repeat(200)]) });
      const field = pick(fields);
      return text().replace(new RegExp(`"${field}":[^,}]+`), `"${field}":${pick(BAD_NUMBERS)}`);
    }
    case 7: {
      const t = text();
      return t.slice(0, Math.floor(r() * (t.length - 1)));
    }
    case 8:
      return JSON.stringify({ v: 1, id, type: 'generate', params: { model: 'm', prompt: 'x'.repeat(10_001 + Math.floor(r() * 5000)) } });
    case 9:
      return pick(['['.repeat(5000), '{"a":'.repeat(3000), '"\\ud800"x', '\u0000\u0001', '{}', '[]', 'null', '""', '   ']);
    case 10:
      return Buffer.from(randomText(r, 64));
    default:
      return JSON.stringify({ v: 1, id, type: 'generate', params: { model: '', prompt: 5, count: pick([0, 65, -1]) } });
  }
}

function randomText(r: () => number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(Math.floor(r() * 0x2fff));
  return s.startsWith('{') ? `x${s}` : s;
}

export function randomJson(r: () => number, depth: number, objectOk: boolean): unknown {
  const k = Math.floor(r() * (depth > 0 ? 6 : 4));
  switch (k) {
    case 0:
      return r() * 1e6 - 5e5;
    case 1:
      return randomText(r, 5);
    case 2:
      return null;
    case 3:
      return r() < 0.5;
    case 4:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth - 1, true));
    default:
      // Top level: objects only without `v: 1` (a random object is then always invalid).
      return objectOk ? { a: randomJson(r, depth - 1, true) } : [randomJson(r, depth - 1, true)];
  }
}
