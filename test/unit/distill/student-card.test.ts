// The shipped students' card (scripts/distill/student-card.ts): stage 1's runs are read back from each
// run's distill.json through its --stage1-init start, oldest first, and the data line names the digits
// where the round's distill.json counts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { dataClause, stage1Lineage, studentCard } from '../../../scripts/distill/student-card';

function run(root: string, name: string, info: Record<string, unknown>): string {
  const dir = join(root, name, 'guided-64');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'distill.json'), JSON.stringify(info));
  return dir;
}

const stage1 = (training: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ phase: 'stage1', steps: 64, ...extra, training: { batch_size: 32, ...training } });

test('student card: stage 1 read back run by run, from the first start to the last run', () => {
  const root = mkdtempSync(join(tmpdir(), 'student-card-'));
  try {
    const origin = run(root, 'earlier-chain', { phase: 'round', steps: 8, training: {} });
    const first = run(root, 'first', stage1({ iterations: 8000, learning_rate: 3e-4, data_rows: { drawings: 7992, digits: 0 }, start_weights: '' }));
    const second = run(root, 'second', stage1({ iterations: 1200, learning_rate: 1e-4, data_rows: { drawings: 7992, digits: 1142 } }, { visited: { share: 0.5 } }));
    // each run names its start relative to its own folder, as job.ts writes it
    for (const [dir, start] of [[first, origin], [second, first]]) {
      const file = join(dir, 'distill.json');
      const d = JSON.parse(readFileSync(file, 'utf8')) as { training: Record<string, unknown> };
      d.training.start_weights = relative(dir, start);
      writeFileSync(file, JSON.stringify(d));
    }
    const text = stage1Lineage(second);
    assert.match(text, /^from a round student for 8 steps from an earlier chain \(.*earlier-chain\/guided-64\), then /);
    const a = text.indexOf('8,000 iterations at batch 32, lr 0.0003 (no digits)');
    const b = text.indexOf('1,200 iterations at batch 32, lr 0.0001 (50% of rows visited latents, with digits)');
    assert.ok(a > 0 && b > a, `oldest run first: ${text}`);
    // a run without a start began at the teacher's channels
    const fresh = run(root, 'fresh', stage1({ iterations: 12000, learning_rate: 1e-3 }));
    assert.equal(stage1Lineage(fresh), 'from the teacher\'s leading channels, then 12,000 iterations at batch 32, lr 0.001; EMA exported (docs/DISTILLATION.md, "Try it")');
    // a walk longer than ten runs does not pretend its first listed run began at the teacher's channels
    let last = fresh;
    for (let k = 0; k < 10; k++) {
      last = run(root, `long-${k}`, stage1({ iterations: 100, learning_rate: 1e-4 }));
      const file = join(last, 'distill.json');
      const d = JSON.parse(readFileSync(file, 'utf8')) as { training: Record<string, unknown> };
      d.training.start_weights = relative(last, k === 0 ? fresh : join(root, `long-${k - 1}`, 'guided-64'));
      writeFileSync(file, JSON.stringify(d));
    }
    assert.match(stage1Lineage(last), /^from earlier runs \(more than 10; not listed\), then 100 iterations/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('student card: the data line names the digits only where distill.json counts them', () => {
  assert.match(dataClause({ data: 'styles', data_rows: { drawings: 7992, digits: 1142 } }), /seven emoji sets.*and 1,142 MNIST training-split digits/);
  assert.doesNotMatch(dataClause({ data: 'styles' }), /MNIST/);
  assert.doesNotMatch(dataClause({ data: 'styles', data_rows: { drawings: 7992, digits: 0 } }), /MNIST/);
  assert.match(dataClause({ data: 'emoji' }), /Noto emoji/);
});

test('student card: the shipped 4-step student\'s own metadata makes a card that says what it is', () => {
  const folder = join(__dirname, '..', '..', '..', 'models', 'emoji-styles-guided-4');
  const d = JSON.parse(readFileSync(join(folder, 'distill.json'), 'utf8')) as Record<string, unknown>;
  const unet = JSON.parse(readFileSync(join(folder, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
  const card = studentCard(d, unet, 2.7, { teacher: 'emoji-styles', prefix: 'emoji-styles-guided-', stage1Dir: join(tmpdir(), 'no-such-stage1-folder'), command: '--teacher models/emoji-styles' });
  assert.match(card, /^# emoji-styles-guided-4 — guided student of emoji-styles for 4 steps/);
  assert.match(card, /narrowed from 128 to \*\*64 channels\*\*/);
  assert.match(card, /Data: .*1,142 MNIST training-split digits/);
  assert.match(card, /Reproduce: `npm run distill:embedded -- --teacher models\/emoji-styles`/);
});
