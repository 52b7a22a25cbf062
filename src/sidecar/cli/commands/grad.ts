/**
 * `diffusion-studio grad <model.onnx> --wrt a,b --out grad.onnx`: differentiates an ONNX model.
 * The written model takes the model's inputs plus a seed `grad_<output>` per output and returns the
 * model's outputs plus `grad_<name>` for each --wrt name (inputs or initializers).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { UserError } from '../errors';
import { loadModel, saveModel } from '../../graph/onnx';
import { gradientModel } from '../../graph/autodiff';
import { foldConstants } from '../../graph/fold';

interface GradOptions { wrt: string; out: string; externalData?: boolean }

export function runGrad(model: string, o: GradOptions): { wrt: string[]; nodes: number } {
  if (!existsSync(model)) throw new UserError(`no such model file: ${model}`);
  const out = resolve(o.out);
  if (resolve(model) === out) throw new UserError('--out must differ from the input model (it is never overwritten)');
  const wrt = o.wrt.split(',').map((s) => s.trim()).filter(Boolean);
  if (!wrt.length) throw new UserError('--wrt needs at least one input or initializer name');
  let g;
  try {
    g = loadModel(model);
  } catch (e) {
    throw new UserError(`cannot read ${model}: ${(e as Error).message}`);
  }
  const missing = wrt.filter((w) => !g.inputs.includes(w) && !g.initializers.has(w));
  if (missing.length) {
    const known = [...g.inputs, ...[...g.initializers.keys()].slice(0, 20)].join(', ');
    throw new UserError(`--wrt ${missing.join(', ')}: not an input or initializer of the model (some names: ${known})`);
  }
  let before: number;
  try {
    foldConstants(g, { keep: wrt }); // gradientModel folds too; first, so the count below is of gradient nodes only
    before = g.nodes.length;
    gradientModel(g, wrt);
  } catch (e) {
    throw new UserError(`cannot differentiate ${model}: ${(e as Error).message}`);
  }
  const bytes = [...g.initializers.values()].reduce((s, v) => s + v.data.byteLength, 0);
  const external = o.externalData || bytes > 1.5e9; // protobuf caps a message at 2 GB
  saveModel(g, out, external ? { externalData: `${basename(out)}_data` } : {});
  return { wrt, nodes: g.nodes.length - before };
}

export function register(program: Command): void {
  program
    .command('grad')
    .description('write the gradient graph of an ONNX model (standard ONNX ops only)')
    .argument('<model>', 'the ONNX model (external data beside it is read)')
    .requiredOption('--wrt <names>', 'comma-separated inputs or initializers to differentiate with respect to')
    .requiredOption('--out <file>', 'where to write the gradient model')
    .option('--external-data', 'store the weights in <out>_data beside the model')
    .action((model: string, o: GradOptions) => {
      const r = runGrad(model, o);
      console.log(`wrote ${o.out}: ${r.nodes} gradient nodes; inputs + grad_<output> seeds -> outputs + ${r.wrt.map((w) => `grad_${w}`).join(', ')}`);
    });
}
