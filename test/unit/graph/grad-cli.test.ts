// The `grad` command on a model exported by PyTorch (fixtures/make_torch_block.py: GroupNorm as
// InstanceNormalization, Conv stride 1 and 2, LayerNorm, attention, GELU via Erf, SiLU, nearest Resize,
// Shape/Gather/Slice plumbing, dynamic batch). Gradients checked against float32 central differences
// (h = 1e-2) with tolerance 5e-3 relative to the largest numeric gradient (float32 kernels; see grad-nn).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Rng, createSession, loadModel, toOnnx, toOrt } from '../../../src/sidecar/graph';
import { runGrad } from '../../../src/sidecar/cli/commands/grad';
import { UserError } from '../../../src/sidecar/cli/errors';

const fixture = join(__dirname, 'fixtures', 'torch-block.onnx');
const rand = (rng: Rng, dims: number[]) => new ort.Tensor('float32', rng.fillNormal(new Float32Array(dims.reduce((a, b) => a * b))), dims);

test('grad on a PyTorch export: seeds in, outputs + grad_<name> out, matching finite differences', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'grad-')), 'grad.onnx');
  const wrt = ['x', 'context', 'conv.weight', 'ln.weight', 'onnx::MatMul_141'];
  runGrad(fixture, { wrt: wrt.join(','), out });
  const back = await ort.InferenceSession.create(out);
  assert.deepEqual([...back.inputNames].sort(), ['context', 'grad_y', 't', 'x']);
  assert.deepEqual([...back.outputNames].sort(), ['y', ...wrt.map((w) => `grad_${w}`)].sort());

  const fwdGraph = loadModel(fixture);
  const params: Record<string, ort.Tensor> = {};
  for (const p of ['conv.weight', 'ln.weight', 'onnx::MatMul_141']) params[p] = toOrt(fwdGraph.promoteToInput(p));
  const fwd = await createSession(toOnnx(fwdGraph));
  for (const batch of [2, 3]) { // dynamic batch: the same gradient file serves both
    const rng = new Rng(batch);
    const feeds = { x: rand(rng, [batch, 8, 6, 6]), t: new ort.Tensor('float32', Float32Array.from({ length: batch }, (_, i) => 2 + 3 * i), [batch]), context: rand(rng, [batch, 5, 6]) };
    const R = rand(rng, [batch, 8, 6, 6]);
    const g = await back.run({ ...feeds, grad_y: R });
    const all = { ...feeds, ...params };
    const loss = async (f: Record<string, ort.Tensor>) => ((await fwd.run(f)).y.data as Float32Array).reduce((s, v, i) => s + v * (R.data as Float32Array)[i], 0);
    for (const name of wrt) {
      const base = all[name as keyof typeof all].data as Float32Array, ga = g[`grad_${name}`].data as Float32Array;
      let worst = 0, scale = 1e-3;
      for (let s = 0; s < 6; s++) {
        const j = rng.int(base.length), h = 1e-2;
        const at = (d: number) => { const c = base.slice(); c[j] += d; return { ...all, [name]: new ort.Tensor('float32', c, all[name as keyof typeof all].dims) }; };
        const num = ((await loss(at(h))) - (await loss(at(-h)))) / (2 * h);
        scale = Math.max(scale, Math.abs(num));
        worst = Math.max(worst, Math.abs(num - ga[j]));
      }
      assert.ok(worst / scale < 5e-3, `grad_${name} (batch ${batch}): error ${worst} vs scale ${scale}`);
    }
  }
});

test('grad refuses unknown names and ops without a rule, naming them', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'grad-')), 'g.onnx');
  assert.throws(() => runGrad(fixture, { wrt: 'nope', out }), (e: unknown) => e instanceof UserError && /--wrt nope: not an input or initializer/.test(e.message));
  assert.throws(() => runGrad(join(tmpdir(), 'missing.onnx'), { wrt: 'x', out }), /no such model file/);
});

test('the grad command line writes the file and reports errors without a stack trace', async () => {
  const bin = join(__dirname, '..', '..', '..', 'bin', 'diffusion-studio.js');
  const out = join(mkdtempSync(join(tmpdir(), 'grad-')), 'g.onnx');
  const ok = spawnSync(process.execPath, [bin, 'grad', fixture, '--wrt', 'x,conv.weight', '--out', out, '--external-data'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /grad_x, grad_conv\.weight/);
  const s = await ort.InferenceSession.create(out);
  assert.ok(s.outputNames.includes('grad_conv.weight'));
  const bad = spawnSync(process.execPath, [bin, 'grad', fixture, '--wrt', 'nope', '--out', out], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--wrt nope: not an input or initializer/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});
