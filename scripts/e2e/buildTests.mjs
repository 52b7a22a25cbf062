// Compiles the in-host tests (test/vscode/*.ts) into out/test/vscode/*.js, one bundle per file, with
// `vscode` and `mocha` left to the extension host / node_modules.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const dir = 'test/vscode';
const entryPoints = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'helpers.ts').map((f) => `${dir}/${f}`);
await esbuild.build({
  entryPoints,
  outdir: 'out/test/vscode',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  external: ['vscode', 'mocha', 'onnxruntime-node', 'sharp'],
  logLevel: 'warning',
});
console.log(`built ${entryPoints.length} in-host test files into out/test/vscode/`);
