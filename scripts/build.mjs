// One build for every bundle: the extension (runs in VS Code's extension host), the command line and
// sidecar (plain Node), the ONNX Runtime worker thread, and the webview front ends (browser).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
// Native and data-bearing packages stay outside the bundles: they load their own binaries at run time.
const nodeExternals = ['onnxruntime-node', 'sharp', 'vscode', '@huggingface/tokenizers'];

const entries = [
  { in: 'src/extension/extension.ts', out: 'extension', platform: 'node' },
  { in: 'src/sidecar/cli/main.ts', out: 'cli', platform: 'node' },
  { in: 'src/sidecar/server/worker.ts', out: 'worker', platform: 'node' },
  { in: 'webview-ui/results/main.ts', out: 'webview/results', platform: 'browser' },
  { in: 'webview-ui/settings/main.ts', out: 'webview/settings', platform: 'browser' },
  { in: 'webview-ui/pngInfo/main.ts', out: 'webview/pngInfo', platform: 'browser' },
  { in: 'webview-ui/distill/main.ts', out: 'webview/distill', platform: 'browser' },
].filter((e) => existsSync(e.in));

const contexts = await Promise.all(
  entries.map((e) =>
    esbuild.context({
      entryPoints: { [e.out]: e.in },
      outdir: 'dist',
      bundle: true,
      sourcemap: true,
      platform: e.platform,
      target: e.platform === 'node' ? 'node20' : 'es2022',
      format: e.platform === 'node' ? 'cjs' : 'iife',
      external: e.platform === 'node' ? nodeExternals : [],
      logLevel: 'warning',
    }),
  ),
);
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  console.log(`built ${entries.length} bundles into dist/`);
}
