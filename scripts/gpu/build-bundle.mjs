// Bundles the Node side of the GPU check (scripts/gpu/unet-tool.ts and what it imports from src/) into
// one CommonJS file, dist/gpu/unet-tool.cjs, so the GPU machine needs no node_modules of ours: only
// onnxruntime-node, which stays external and is found through NODE_PATH (set by unpack.sh).
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['scripts/gpu/unet-tool.ts'],
  outfile: 'dist/gpu/unet-tool.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['onnxruntime-node'],
  logLevel: 'warning',
});
console.log('built dist/gpu/unet-tool.cjs');
