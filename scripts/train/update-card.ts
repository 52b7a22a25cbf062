/**
 * Rewrites a model card with measured metrics: npx tsx scripts/train/update-card.ts <model dir> <run dir> <eval.json> [note]
 * (eval.json = the output of `diffusion-studio eval --json`; the run dir holds card-facts.json, written by
 * train-emoji-base.ts for emoji-base and train-styles.ts for the 64x64 family).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelCard, type CardFacts } from './card';
import { stylesCard, type StylesCardFacts } from './styles-card';

const [dir, run, evalJson, note] = process.argv.slice(2);
if (!dir || !run || !evalJson) {
  console.error('usage: update-card.ts <model dir> <run dir> <eval.json> [note]');
  process.exit(2);
}
const facts = JSON.parse(readFileSync(join(run, 'card-facts.json'), 'utf8')) as CardFacts | StylesCardFacts;
const report = JSON.parse(readFileSync(evalJson, 'utf8')) as Record<string, unknown>;
delete report.samples;
report.model = dir.replace(/\/$/, '');
facts.metrics = report;
if (note) facts.extra = `${facts.extra ?? ''}\n${note}\n`;
writeFileSync(join(dir, 'README.md'), 'card' in facts ? stylesCard(facts) : modelCard(facts));
console.log(`updated ${join(dir, 'README.md')}`);
