/**
 * Sample images of each finished distillation phase, made by the distill job itself: a few fixed
 * prompts and seeds through the new student (text-to-image at the student's own steps), written to
 * `<out>/samples/round-<k>-<i>.png` and side by side as `round-<k>.png`, which is also sent as a
 * progress event's preview (stage `samples <k>/<rounds>`).
 *
 * Why the job and not the client: the sidecar runs one job at a time, so a generate job asked for
 * round 1's student would wait until the whole distillation is over; here each row comes as its
 * phase ends. Sampling runs while the next phase trains (the trainer awaits its own runs), one phase
 * at a time, and costs the student's sessions besides the trainer's: small for the embedded models,
 * a second UNet for a Stable Diffusion student (so it is asked for, `samplesPerRound`, never implied).
 */
import { join } from 'node:path';
import sharp from 'sharp';
import type { DistillParams } from '../../protocol';
import { sharpToPng } from '../io/images';
import { writeExclusiveSync } from '../io/outputs';
import type { Phase } from '../pipelines/distill/plan';
import { textToImage } from '../pipelines/text-to-image';
import type { JobContext } from './contract';

/** The same prompts and seeds every round, so rows compare; the request's own prompts come first. */
export const SAMPLE_PROMPTS = ['a smiling face', 'a red apple', 'a cat face', 'a blue car', 'a yellow star', 'a green tree', 'a house', 'a heart'];
export const SAMPLE_SEED = 1000;
/** Rows are drawn at least this tall (32-pixel students are enlarged, nearest neighbour). */
const ROW_HEIGHT = 96;

export class PhaseSampler {
  private readonly sampled = new Set<number>();
  private chain: Promise<void> = Promise.resolve();

  /** `phases`: the job's plan (pipelines/distill/plan.ts), whose names are the students' folders. */
  constructor(
    private readonly params: DistillParams,
    private readonly ctx: JobContext,
    private readonly phases: Phase[],
  ) {}

  /** A progress event of phase `round` (1-based): every phase before it is finished. */
  onRound(round: number): void {
    for (let k = 0; k < round - 1; k++) this.queue(k);
  }

  /** The job ended (finished or not): the finished phases not sampled yet, then waits for all. */
  async finish(finished: number): Promise<void> {
    for (let k = 0; k < finished; k++) this.queue(k);
    await this.chain;
  }

  private queue(k: number): void {
    if (this.sampled.has(k) || k >= this.phases.length) return;
    this.sampled.add(k);
    // A sample that fails is logged, never the job's failure: the student is what the job is for.
    this.chain = this.chain.then(() => this.sample(k)).catch((e: Error) => {
      if (!this.ctx.isCancelled()) this.ctx.log('warn', `samples of ${this.phases[k].name}: ${e.message}`);
    });
  }

  private async sample(k: number): Promise<void> {
    if (this.ctx.isCancelled()) return;
    const phase = this.phases[k];
    const out = join(this.params.outputDir, 'samples');
    const n = this.params.samplesPerRound ?? 0;
    const prompts = [...(this.params.prompts ?? []), ...SAMPLE_PROMPTS].slice(0, n);
    const images: Buffer[] = [];
    for (const [i, prompt] of prompts.entries()) {
      await textToImage(
        { model: join(this.params.outputDir, phase.name), prompt, seed: SAMPLE_SEED + i, count: 1, out: join(out, `round-${k + 1}-${i + 1}.png`) },
        {
          isCancelled: this.ctx.isCancelled,
          executionProviders: this.ctx.executionProviders,
          intraOpNumThreads: this.ctx.intraOpNumThreads,
          writeImage: (path, data) => (images.push(data), writeExclusiveSync(path, data)),
        },
      );
    }
    const row = await sampleRow(images);
    writeExclusiveSync(join(out, `round-${k + 1}.png`), row);
    this.ctx.onProgress({ stage: `samples ${k + 1}/${this.phases.length}`, step: prompts.length, total: prompts.length, preview: row, metrics: { round: k + 1, studentSteps: phase.steps } });
  }
}

/** The images side by side, each enlarged by a whole factor to at least ROW_HEIGHT pixels tall. */
export async function sampleRow(pngs: Buffer[]): Promise<Buffer> {
  const metas = await Promise.all(pngs.map((p) => sharp(p).metadata()));
  const scale = Math.max(1, Math.ceil(ROW_HEIGHT / Math.max(...metas.map((m) => m.height ?? 1))));
  const tiles = await Promise.all(pngs.map((p, i) => sharp(p).resize((metas[i].width ?? 1) * scale, (metas[i].height ?? 1) * scale, { kernel: 'nearest' }).png().toBuffer()));
  let left = 0;
  const composites = tiles.map((input, i) => {
    const c = { input, left, top: 0 };
    left += (metas[i].width ?? 1) * scale;
    return c;
  });
  const height = Math.max(...metas.map((m) => (m.height ?? 1) * scale));
  return sharpToPng(sharp({ create: { width: left, height, channels: 3, background: { r: 0, g: 0, b: 0 } } }).composite(composites));
}
