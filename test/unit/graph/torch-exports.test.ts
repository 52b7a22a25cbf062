// PyTorch exports (test/fixtures/torch-exports/, written by scripts/reference/torch_exports.py with
// PyTorch 1.13): one UNet-like block (Conv, GroupNorm, SiLU, LayerNorm, self- and cross-attention, GELU,
// nearest Upsample) at opsets 14-17, with and without constant folding, differentiated by the `grad`
// command and compared with PyTorch's own gradients of sum(y * R). Without constant folding the exports
// keep Constant nodes and shape arithmetic; before graph/fold.ts, `grad` failed on all of them (Resize's
// scales come from Concat(Constant, Constant)). float32 throughout: agreement within 1e-4 relative to the
// largest gradient element (measured: see docs/ENGINE.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, foldConstants, loadModel, toOnnx } from '../../../src/sidecar/graph';
import { runGrad } from '../../../src/sidecar/cli/commands/grad';

interface Tens { dims: number[]; data: number[] }
interface Reference { torch: string; inputs: Record<string, Tens>; R: Tens; y: number[]; grads: Record<string, Tens>; exports: string[] }
const dir = join(__dirname, '..', '..', 'fixtures', 'torch-exports');
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
const feeds = () => Object.fromEntries(Object.entries(ref.inputs).map(([k, t]) => [k, new ort.Tensor('float32', Float32Array.from(t.data), t.dims)]));
/** max |a - b| / max |b|: the error relative to the reference's scale. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { err = Math.max(err, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return err / scale;
};
/** The wrt names each export must offer (inputs and weights PyTorch keeps under their own names). */
const ALWAYS = ['x', 'context', 'conv_in.weight', 'conv.weight', 'conv.bias', 'ln.weight', 'ln.bias', 'mlp.bias', 'conv_out.weight'];

test('the fixtures: eight exports (opsets 14-17 x folding on/off) and one with a dynamic batch', () => {
  assert.equal(ref.exports.length, 9);
  for (const opset of [14, 15, 16, 17]) for (const fold of ['fold', 'nofold']) assert.ok(ref.exports.includes(`block-op${opset}-${fold}.onnx`));
  const g = loadModel(join(dir, 'block-op14-nofold.onnx'));
  const resize = g.nodes.find((n) => n.op === 'Resize')!;
  const scales = g.nodes.find((n) => n.outputs.includes(resize.inputs[2]));
  assert.equal(scales?.op, 'Concat', 'without constant folding, Resize takes its scales from a Concat');
});

const worst: Record<string, number> = {};
for (const name of ref.exports) {
  test(`grad on ${name} matches PyTorch's gradients`, async () => {
    const model = join(dir, name);
    const g = loadModel(model);
    const names = Object.keys(ref.grads).filter((w) => g.inputs.includes(w) || g.initializers.has(w));
    for (const w of ALWAYS) assert.ok(names.includes(w), `${name} has ${w}`);
    const out = join(mkdtempSync(join(tmpdir(), 'torch-grad-')), 'grad.onnx');
    runGrad(model, { wrt: names.join(','), out });
    const session = await ort.InferenceSession.create(out);
    const res = await session.run({ ...feeds(), grad_y: new ort.Tensor('float32', Float32Array.from(ref.R.data), ref.R.dims) });
    assert.ok(relErr(res.y.data as Float32Array, ref.y) < 1e-5, `${name}: forward output`);
    for (const w of names) {
      assert.deepEqual(res[`grad_${w}`].dims, ref.grads[w].dims, `${name}: grad_${w} dims`);
      const e = relErr(res[`grad_${w}`].data as Float32Array, ref.grads[w].data);
      worst[name] = Math.max(worst[name] ?? 0, e);
      assert.ok(e < 1e-4, `${name}: grad_${w} relative error ${e}`);
    }
  });
}

test('folding alone leaves every export computing the same output in ONNX Runtime', async () => {
  for (const name of ref.exports) {
    const plain = loadModel(join(dir, name)), folded = loadModel(join(dir, name));
    const report = foldConstants(folded);
    const left = folded.nodes.filter((n) => n.op === 'Constant' || n.op === 'Concat' || n.op === 'Unsqueeze').length;
    // with a dynamic batch, the two Reshape targets stay Concat(Unsqueeze(Shape(h)[0]), <folded static dims>)
    if (name.includes('nofold')) assert.ok(report.folded > 10 && left === (name.includes('dynamic') ? 4 : 0), `${name}: ${report.folded} folded, ${left} left`);
    const [a, b] = await Promise.all([plain, folded].map(async (g) => (await createSession(toOnnx(g))).run(feeds())));
    // ORT fuses differently once shapes are constants (e.g. the 1/sqrt(c) scale into MatMul): float32 rounding
    const e = relErr(b.y.data as Float32Array, a.y.data as Float32Array);
    if (process.env.TORCH_EXPORTS_REPORT) console.log(name, 'fold vs original', e);
    assert.ok(e < 1e-6, `${name}: folded output differs by ${e}`);
  }
  if (process.env.TORCH_EXPORTS_REPORT) console.log(JSON.stringify(worst));
});

test('the command line differentiates an export made without constant folding', async () => {
  const bin = join(__dirname, '..', '..', '..', 'bin', 'diffusion-studio.js');
  const out = join(mkdtempSync(join(tmpdir(), 'torch-grad-')), 'g.onnx');
  const r = spawnSync(process.execPath, [bin, 'grad', join(dir, 'block-op16-nofold.onnx'), '--wrt', 'x,conv.weight', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = await (await ort.InferenceSession.create(out)).run({ ...feeds(), grad_y: new ort.Tensor('float32', Float32Array.from(ref.R.data), ref.R.dims) });
  assert.ok(relErr(res['grad_conv.weight'].data as Float32Array, ref.grads['conv.weight'].data) < 1e-4);
});
