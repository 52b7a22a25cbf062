/**
 * Per-component ONNX Runtime cost of the embedded family, one run each at the batch generation uses
 * (text encoder and student UNet at batch 1, the guided teacher's UNet at batch 2 for [uncond, cond],
 * the VAE decoder at batch 1): the floor under any time-per-image ratio between teacher and students,
 * whatever happens outside ONNX Runtime. Usage: npx tsx scripts/bench-components.ts [--runs 200]
 */
import * as ort from 'onnxruntime-node';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 200;
const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
const f32 = (dims: number[], fill = 0) => new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)).fill(fill), dims);
const i64 = (values: bigint[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values), dims);

/** Best wall time and mean CPU time of one run, after a warm-up. */
async function cost(path: string, feeds: Record<string, ort.Tensor>): Promise<{ bestMs: number; cpuMs: number }> {
  const s = await ort.InferenceSession.create(path, opts);
  for (let i = 0; i < 20; i++) await s.run(feeds);
  let bestMs = Infinity;
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await s.run(feeds);
    bestMs = Math.min(bestMs, performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  await s.release();
  return { bestMs, cpuMs: (c.user + c.system) / 1000 / runs };
}

async function main(): Promise<void> {
  const te = await cost('models/emoji-base/text_encoder/model.onnx', { input_ids: i64(Array(16).fill(0n), [1, 16]) });
  const teacher = await cost('models/emoji-base/unet/model.onnx', { sample: f32([2, 4, 8, 8]), timestep: i64([500n, 500n], [2]), encoder_hidden_states: f32([2, 16, 64]) });
  const student = await cost('models/emoji-guided-4/unet/model.onnx', { sample: f32([1, 4, 8, 8]), timestep: i64([500n], [1]), encoder_hidden_states: f32([1, 16, 64]), guidance_scale: f32([1], 3) });
  const vae = await cost('models/emoji-base/vae_decoder/model.onnx', { latent_sample: f32([1, 4, 8, 8]) });
  const rows = { 'text encoder, batch 1': te, 'teacher UNet, batch 2': teacher, 'student UNet, batch 1': student, 'VAE decoder, batch 1': vae };
  console.log('| component | best ms | CPU ms / run |\n|---|---:|---:|');
  for (const [k, v] of Object.entries(rows)) console.log(`| ${k} | ${v.bestMs.toFixed(3)} | ${v.cpuMs.toFixed(3)} |`);
  const teacher64 = te.cpuMs * 2 + 64 * teacher.cpuMs + vae.cpuMs;
  const student4 = te.cpuMs + 4 * student.cpuMs + vae.cpuMs;
  console.log(`\nONNX Runtime CPU per image: teacher 64 steps ${teacher64.toFixed(2)} ms, 4-step student ${student4.toFixed(2)} ms, ratio ${(teacher64 / student4).toFixed(1)}x`);
  console.log(JSON.stringify({ runs, rows, teacher64, student4, ratio: teacher64 / student4 }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
