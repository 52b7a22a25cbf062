// Runs the test suites with Node's own test runner (TypeScript through tsx) and prints its summary
// (`# pass N`, `# fail N`). Usage: node scripts/run-tests.mjs [unit|integration|all] [filter]
// Node 20's runner takes no globs, so the files are found here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suite = process.argv[2] ?? 'all';
const filter = process.argv[3];
const roots = suite === 'all' ? ['test/unit', 'test/integration'] : [`test/${suite}`];

function find(dir) {
  let found = [];
  let names;
  try { names = readdirSync(dir); } catch { return found; }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(find(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const files = roots.flatMap(find).filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`no test files found under ${roots.join(', ')}${filter ? ` matching "${filter}"` : ''}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
