// @vscode/test-cli configuration: where VS Code can be downloaded, `npx vscode-test` runs the in-host
// suite (test/vscode, compiled by scripts/e2e/buildTests.mjs) in a real VS Code. On machines that
// cannot download it, `npm run test:e2e` runs the same suite through code-server.
import { defineConfig } from '@vscode/test-cli';
import { mkdtempSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The same kind of workspace the code-server route uses: test models and a short distillation task.
const workspace = mkdtempSync(path.join(tmpdir(), 'ds-vscode-test-'));
mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
mkdirSync(path.join(workspace, 'images'), { recursive: true });
cpSync('node_modules/emoji-datasource-google/img/google/64/1f431.png', path.join(workspace, 'images', 'cat.png'));
writeFileSync(
  path.join(workspace, '.vscode', 'settings.json'),
  JSON.stringify({
    'diffusionStudio.modelsFolders': [path.resolve('test/fixtures')],
    'diffusionStudio.model': 'tiny-sd',
    'diffusionStudio.steps': 4,
    'diffusionStudio.outputFolder': 'generated',
    'diffusionStudio.distillFolder': 'students',
  }),
);
writeFileSync(
  path.join(workspace, '.vscode', 'tasks.json'),
  JSON.stringify({
    version: '2.0.0',
    tasks: [{ label: 'e2e distill', type: 'diffusion-distill', mode: 'guided', teacher: 'tiny-sd', targetSteps: 2, iterations: 4, outputFolder: 'students/e2e-student', problemMatcher: [] }],
  }),
);

export default defineConfig({
  label: 'in-host',
  files: 'out/test/vscode/*.test.js',
  workspaceFolder: workspace,
  mocha: { ui: 'bdd', timeout: 120_000 },
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
});
