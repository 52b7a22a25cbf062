/** The model card (models/emoji-base/README.md), written from what the training run measured. */
import type { FamilyConfig } from '../../src/sidecar/nn';

export interface CardFacts {
  cfg: FamilyConfig;
  images: number;
  captions: number;
  params: Record<string, number>;
  scalingFactor: number;
  stages: Record<string, { steps: number; batch: number; seconds: number; finalLoss: number }>;
  trainer: string;
  metrics?: Record<string, unknown>;
  extra?: string;
}

export function modelCard(f: CardFacts): string {
  const total = Object.values(f.params).reduce((a, b) => a + b, 0);
  const stageRows = Object.entries(f.stages).map(([k, s]) => `| ${k} | ${s.steps} | ${s.batch} | ${(s.seconds / 60).toFixed(1)} min | ${s.finalLoss.toPrecision(3)} |`).join('\n');
  const paramRows = Object.entries(f.params).map(([k, n]) => `| ${k} | ${n.toLocaleString('en')} |`).join('\n');
  const metrics = f.metrics ? `\n\`\`\`json\n${JSON.stringify(f.metrics, null, 2)}\n\`\`\`\n` : '\n(not measured yet: run `npx diffusion-studio eval --model models/emoji-base --json`)\n';
  return `# emoji-base: the embedded text-to-image model family

A tiny Stable-Diffusion-shaped family trained by this project on this project's own engine: a CLIP-style
text encoder and image encoder, a VAE (32x32x3 <-> 8x8x4) and a UNet with cross-attention, in the
diffusers ONNX layout with Stable Diffusion's tensor names. It draws emoji (32x32) from short English
prompts such as "a graceful swan".

## Data and licences
- Images: Noto Emoji (Google), Apache License 2.0, from the npm package \`emoji-datasource-google\`
  (its code and emoji.json: MIT). ${f.images} emoji of the categories Smileys & Emotion, People & Body,
  Animals & Nature, Food & Drink, Travel & Places, Activities, Objects; skin-tone variants, flags and
  symbols left out. Composited on white, resized to 32x32 RGB (sharp, lanczos3).
- Captions: ${f.captions} phrasings built from the Unicode names, short names and subcategories
  ("a swan", "swan", "a graceful swan", "an emoji of a swan", "a swan a bird" ...), plus broad captions
  ("a bird") shared by siblings for the UNet.
- Code and these weights: MIT (the weights are derived from Apache-2.0 images; keep both notices).

## Architecture
| component | parameters |
|---|---|
${paramRows}
| total | ${total.toLocaleString('en')} |

- text_encoder: word-level tokenizer (vocab ${f.cfg.vocab}, ${f.cfg.length} tokens, \`<bos> words <eos> <pad>...\`),
  ${f.cfg.textLayers} pre-norm transformer blocks, width ${f.cfg.textDim}, ${f.cfg.textHeads} heads, bidirectional attention.
  \`input_ids\` int64 [B, ${f.cfg.length}] -> \`last_hidden_state\` [B, ${f.cfg.length}, ${f.cfg.textDim}], \`text_embeds\` [B, ${f.cfg.embedDim}]
  (projection of the <bos> token; compare by cosine).
- image_encoder: 4 conv layers + mean pool + projection. \`pixel_values\` [B, 3, 32, 32] in [-1, 1] ->
  \`image_embeds\` [B, ${f.cfg.embedDim}], \`features\` [B, 96] (FID-analogue features).
- vae_encoder: \`sample\` [B, 3, 32, 32] -> \`latent_sample\` [B, 4, 8, 8] (posterior mean, unscaled).
  vae_decoder: \`latent_sample\` [B, 4, 8, 8] -> \`sample\` [B, 3, 32, 32] in [-1, 1].
  scaling_factor = ${f.scalingFactor.toFixed(5)} (1 / std of the training latents), in vae_*/config.json.
- unet: \`sample\` [B, 4, 8, 8], \`timestep\` int64 [B], \`encoder_hidden_states\` [B, ${f.cfg.length}, ${f.cfg.textDim}] -> \`out_sample\`
  (v-prediction). Two levels (8x8, 4x4), width ${f.cfg.unetChannels}, ResBlocks with timestep embedding,
  cross-attention + self-attention after each ResBlock. Trained with 10% empty prompts (classifier-free guidance).
- scheduler: scaled_linear betas 0.00085..0.012, 1000 steps (Stable Diffusion's), v_prediction, trailing spacing.

## Training
\`npm run train:emoji-base\` (scripts/train-emoji-base.ts), ${f.trainer}. Resumable: rerun the same command.

| stage | steps | batch | wall time | final loss |
|---|---|---|---|---|
${stageRows}

Loss curves: docs/embedded-loss-curves.png. Samples: docs/embedded-samples.png.
${f.extra ?? ''}
## Metrics
\`npx diffusion-studio eval --model models/emoji-base --json\` (1024 prompts, one image each, seeded):
${metrics}`;
}
