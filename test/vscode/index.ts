/**
 * In-host test entry (extensionTestsPath): runs every compiled *.test.js beside this file with mocha
 * inside the real extension host. Used by scripts/e2e/run.mjs through code-server and by
 * @vscode/test-cli (.vscode-test.mjs) where VS Code can be downloaded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  const filter = process.env.DS_VSCODE_TEST_FILTER;
  for (const f of fs.readdirSync(__dirname).sort()) {
    if (f.endsWith('.test.js') && (!filter || filter.split(',').some((part) => f.includes(part)))) mocha.addFile(path.join(__dirname, f));
  }
  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} in-host test(s) failed`)) : resolve()));
  });
}
