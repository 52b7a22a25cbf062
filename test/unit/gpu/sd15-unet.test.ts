// The SD 1.5-architecture UNet built by the project (small configuration) against the same
// architecture in PyTorch with the same weights: ONNX Runtime (CPU) and PyTorch 1.13 (CPU, Debian's
// /usr/bin/python3) must agree. The full-size comparison runs on the GPU machine (scripts/gpu/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSd15Unet, exportSd15VaeDecoder } from '../../../src/sidecar/nn/sd15/export';
import { smallVae } from '../../../src/sidecar/nn/sd15/vae-decoder';
import { SD15_UNET, buildSd15Unet, scaledSd15, small } from '../../../src/sidecar/nn/sd15-unet';
import { halfToFloat, toHalfBits } from '../../../src/sidecar/nn/sd15/fp16';
import { compare, loadInputs, openSession, readOutput, timeRuns } from '../../../scripts/gpu/ort-unet';

const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0
  ? `${PY} cannot import torch (apt-get install -y python3-torch): the PyTorch comparison is skipped`
  : false;

// fp32: same maths, different summation order -> ~1e-6 seen (output magnitude ~1); 1e-4 leaves room.
const TOL_FP32 = 1e-4;
// fp16 weights and activations vs the float32 reference: ~1.2e-3 seen; 2e-2 still catches a wrong op.
const TOL_FP16 = 2e-2;

test('ONNX UNet (matmul and fused attention, fp32 and fp16) matches PyTorch with the same weights', { skip: torchMissing }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd15-unet-'));
  try {
    const cfg = small();
    const r = exportSd15Unet(cfg, dir, { seed: 7, fusedAttentionVariant: true });
    const py = spawnSync(PY, ['scripts/gpu/torch_unet.py', 'run', '--dir', dir], { encoding: 'utf8' });
    assert.equal(py.status, 0, `torch_unet.py failed (strict weight loading checks every name and shape):\n${py.stderr}`);
    const ref = readOutput(join(dir, 'torch_out.safetensors'));
    assert.ok(ref.every(Number.isFinite) && Math.max(...ref.map(Math.abs)) > 0.1, 'reference output is degenerate');

    const cases = [
      ['matmul fp32', r.models.fp32!, 'fp32', TOL_FP32], ['matmul fp16', r.models.fp16!, 'fp16', TOL_FP16],
      ['fused attention fp16 (shared weights)', r.models['fp16-mha']!, 'fp16', TOL_FP16],
    ] as const;
    for (const [label, model, precision, tol] of cases) {
      const { out, dims } = await timeRuns(await openSession(model, 'cpu'), loadInputs(dir, precision), 1, 0);
      assert.deepEqual(dims, [2, cfg.outChannels, cfg.sampleSize, cfg.sampleSize]);
      const d = compare(out, ref);
      assert.ok(d.max_abs < tol, `${label}: max abs error ${d.max_abs} vs PyTorch exceeds ${tol}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ONNX VAE decoder (fp32, fp16) matches PyTorch with the same weights', { skip: torchMissing }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd15-vae-'));
  try {
    const cfg = smallVae();
    const r = exportSd15VaeDecoder(cfg, dir, { seed: 5 });
    const py = spawnSync(PY, ['scripts/gpu/torch_unet.py', 'run', '--dir', dir], { encoding: 'utf8' });
    assert.equal(py.status, 0, `torch_unet.py failed on the VAE decoder:\n${py.stderr}`);
    const ref = readOutput(join(dir, 'torch_out.safetensors'));
    const upscale = 2 ** (cfg.blockOutChannels.length - 1);
    for (const [precision, tol] of [['fp32', TOL_FP32], ['fp16', TOL_FP16]] as const) {
      const { out, dims } = await timeRuns(await openSession(r.models[precision]!, 'cpu'), loadInputs(dir, precision), 1, 0);
      assert.deepEqual(dims, [1, 3, cfg.latentSize * upscale, cfg.latentSize * upscale]);
      const d = compare(out, ref);
      assert.ok(d.max_abs < tol, `VAE ${precision}: max abs error ${d.max_abs} vs PyTorch exceeds ${tol}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the full configuration is Stable Diffusion 1.5 size (859.5M parameters)', () => {
  // Counting only (no graph): diffusers reports 859,520,964 parameters for SD 1.5's UNet.
  assert.equal(countParameters(SD15_UNET), 859_520_964);
  // ... and the counter agrees with what the builder makes (checked on the small configuration).
  const { graph } = buildSd15Unet(small());
  let built = 0;
  for (const name of graph.trainable) built += graph.initializers.get(name)!.data.length;
  assert.equal(built, countParameters(small()));
  assert.equal(graph.inputs.join(','), 'sample,timestep,encoder_hidden_states');
  assert.equal(graph.outputs.join(','), 'out_sample');
});

test('bad configurations are refused with the reason', () => {
  assert.throws(() => scaledSd15({ channelMult: 30, groups: 32 }), /30 channels do not split into 32 groups/);
  assert.throws(() => scaledSd15({ channelMult: 32, sampleSize: 20 }), /divisible by 8/);
  assert.throws(() => scaledSd15({ channelMult: 32, levels: 5 }), /levels must be 2..4/);
});

test('float16 conversion rounds to nearest even and keeps specials', () => {
  for (const [v, bits] of [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1e6, 0x7c00], [5.960464477539063e-8, 0x0001], [0, 0], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02]] as const) {
    assert.equal(toHalfBits(v), bits, `toHalfBits(${v})`);
  }
  for (const x of [0.1, -3.14159, 1234.5, 6.1e-5]) assert.ok(Math.abs(halfToFloat(toHalfBits(x)) - x) <= Math.abs(x) * 2 ** -11);
  assert.ok(Number.isNaN(halfToFloat(toHalfBits(NaN))));
});

/** Parameter count from the config alone, mirroring the builder layer by layer. */
function countParameters(c: typeof SD15_UNET): number {
  const ch = c.blockOutChannels, temb = ch[0] * 4;
  const conv = (i: number, o: number, k: number) => i * o * k * k + o;
  const lin = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
  const norm = (n: number) => 2 * n;
  const resnet = (i: number, o: number) => norm(i) + conv(i, o, 3) + lin(temb, o) + norm(o) + conv(o, o, 3) + (i === o ? 0 : conv(i, o, 1));
  const attn = (d: number, kv: number) => lin(d, d, false) + 2 * lin(kv, d, false) + lin(d, d);
  const transformer = (d: number) => norm(d) + 2 * conv(d, d, 1) + 3 * norm(d) + attn(d, d) + attn(d, c.crossAttentionDim) + lin(d, 8 * d) + lin(4 * d, d);
  let n = conv(c.inChannels, ch[0], 3) + lin(ch[0], temb) + lin(temb, temb);
  const skips = [ch[0]];
  ch.forEach((o, i) => {
    for (let j = 0; j < c.layersPerBlock; j++) {
      n += resnet(j === 0 ? (i === 0 ? ch[0] : ch[i - 1]) : o, o) + (c.attentionLevels[i] ? transformer(o) : 0);
      skips.push(o);
    }
    if (i < ch.length - 1) { n += conv(o, o, 3); skips.push(o); }
  });
  const deep = ch[ch.length - 1];
  n += 2 * resnet(deep, deep) + transformer(deep);
  let prev = deep;
  [...ch].reverse().forEach((o, i) => {
    for (let j = 0; j <= c.layersPerBlock; j++) n += resnet((j === 0 ? prev : o) + skips.pop()!, o) + (c.attentionLevels[ch.length - 1 - i] ? transformer(o) : 0);
    if (i < ch.length - 1) n += conv(o, o, 3);
    prev = o;
  });
  return n + norm(ch[0]) + conv(ch[0], c.outChannels, 3);
}
