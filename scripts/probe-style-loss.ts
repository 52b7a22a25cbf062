/**
 * `npx tsx scripts/probe-style-loss.ts [--model models/emoji-styles] [--per-style 20] [--draws 4]`
 *
 * Does a 64x64 family's UNet use the style word of a prompt (issue 13; docs/MODELS.md)? For drawings of
 * the style evaluator's held-out emoji (eval's style-word rows, styleWordRows), the v-prediction loss
 * of the same noised latent (same noise, same timestep) under the emoji's caption in each of the seven styles, under the plain caption and
 * under the empty prompt. A UNet that uses the word predicts a drawing best under its own style's
 * caption: the share of drawings whose lowest loss is their own style ("the UNet as a style
 * classifier", as Li et al. 2023 read a diffusion model as a classifier) is printed per timestep,
 * with the mean losses. Chance is 1 in 7.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Rng } from '../src/sidecar/graph';
import { EMOJI_STYLES_64, latentSide } from '../src/sidecar/nn';
import { resolveModel, modelRoots } from '../src/sidecar/io/model-discovery';
import { openModel } from '../src/sidecar/pipelines/model-sessions';
import { encodePrompts } from '../src/sidecar/pipelines/core/prompt';
import { readFloats } from '../src/sidecar/pipelines/tensors';
import { alphaBarFor } from '../src/sidecar/schedulers/noise-schedule';
import { withStyle } from '../src/sidecar/train/data/style-captions';
import { styleWordRows } from '../src/sidecar/pipelines/eval/variety';
import { loadStylesData, gatherPixels } from './train/styles-data';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/emoji-styles' },
    'per-style': { type: 'string', default: '20' },
    draws: { type: 'string', default: '4' },
    timesteps: { type: 'string', default: '100,300,500,700,900' },
  },
});
const cfg = EMOJI_STYLES_64;
const LAT = cfg.latentChannels * latentSide(cfg) ** 2;

async function main(): Promise<void> {
  const folder = resolveModel(a.model!, modelRoots([]));
  const model = await openModel(folder, {}, true);
  const d = await loadStylesData(cfg.imageSize, cfg.length);
  const S = d.styles.styles.length, per = Number(a['per-style']);
  const rows = styleWordRows(d.styles, per).map((r) => r.sample);
  const px = gatherPixels(d, rows);
  const x0 = readFloats((await model.vaeEncoder!.run({ sample: new ort.Tensor('float32', px, [rows.length, 3, cfg.imageSize, cfg.imageSize]) })).latent_sample).map((v) => v * folder.scalingFactor);
  const ac = alphaBarFor(folder.schedulerConfig);
  const ts = a.timesteps!.split(',').map(Number), draws = Number(a.draws), rng = new Rng(5);
  const C = S + 2; // the seven styled captions, the plain caption, the empty prompt
  // loss[t][row][caption], summed over draws
  const loss = ts.map(() => rows.map(() => new Float64Array(C)));
  for (const [i, r] of rows.entries()) {
    const caption = d.styles.emoji[d.styles.samples[r].emoji].captions[0];
    const prompts = [...d.styles.styles.map((st) => withStyle(caption, st, 0, 0)), caption, ''];
    const ctx = await encodePrompts(model, prompts);
    const ctxPer = ctx.data.length / C;
    for (const [ti, t] of ts.entries()) {
      const sa = Math.sqrt(ac[t]), sb = Math.sqrt(1 - ac[t]);
      const sample = new Float32Array(draws * C * LAT), target = new Float32Array(draws * LAT), hidden = new Float32Array(draws * C * ctxPer);
      const eps = new Float32Array(LAT);
      for (let n = 0; n < draws; n++) {
        rng.fillNormal(eps);
        for (let j = 0; j < LAT; j++) {
          const x = x0[i * LAT + j];
          target[n * LAT + j] = sa * eps[j] - sb * x;
          for (let c = 0; c < C; c++) sample[(n * C + c) * LAT + j] = sa * x + sb * eps[j];
        }
        hidden.set(ctx.data, n * C * ctxPer);
      }
      const B = draws * C;
      const v = readFloats((await model.unet.run({
        sample: new ort.Tensor('float32', sample, [B, cfg.latentChannels, latentSide(cfg), latentSide(cfg)]),
        timestep: new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(t)), [B]),
        encoder_hidden_states: new ort.Tensor('float32', hidden, [B, ...ctx.dims.slice(1)]),
      })).out_sample);
      for (let n = 0; n < draws; n++) {
        for (let c = 0; c < C; c++) {
          let e = 0;
          for (let j = 0; j < LAT; j++) e += (v[(n * C + c) * LAT + j] - target[n * LAT + j]) ** 2;
          loss[ti][i][c] += e / LAT / draws;
        }
      }
    }
  }
  console.log(`${folder.dir}: ${rows.length} drawings (${per} per style), ${draws} noise draws per timestep`);
  console.log('t     own-style argmin  loss own  others(mean)  plain   empty   (own - others) / (empty - plain)');
  for (const [ti, t] of ts.entries()) {
    let hit = 0, own = 0, others = 0, plain = 0, empty = 0;
    rows.forEach((r, i) => {
      const l = loss[ti][i], s = d.styles.samples[r].style;
      let best = 0;
      for (let c = 1; c < S; c++) if (l[c] < l[best]) best = c;
      if (best === s) hit++;
      own += l[s]; plain += l[S]; empty += l[S + 1];
      for (let c = 0; c < S; c++) if (c !== s) others += l[c] / (S - 1);
    });
    const n = rows.length;
    console.log(`${String(t).padEnd(5)} ${(100 * hit / n).toFixed(1).padStart(6)}%          ${(own / n).toFixed(4)}    ${(others / n).toFixed(4)}      ${(plain / n).toFixed(4)}  ${(empty / n).toFixed(4)}  ${((own - others) / (empty - plain)).toFixed(2)}`);
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
