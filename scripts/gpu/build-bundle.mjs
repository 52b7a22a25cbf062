// Bundles the Node side of the GPU check (scripts/gpu/unet-tool.ts and what it imports from src/) into
// one CommonJS file, dist/gpu/unet-tool.cjs, so the GPU machine needs no node_modules of ours: only
// onnxruntime-node, sharp and the tokenizer, which stay external and are found through NODE_PATH (set by
// unpack.sh).
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['scripts/gpu/unet-tool.ts'],
  outfile: 'dist/gpu/unet-tool.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Native or data-bearing packages stay outside (as in scripts/build.mjs); pack.sh carries them.
  external: ['onnxruntime-node', 'sharp', '@huggingface/tokenizers'],
  logLevel: 'warning',
});
console.log('built dist/gpu/unet-tool.cjs');
