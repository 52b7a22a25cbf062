/**
 * The `xyplot` job: one generation per cell of the plot (pipelines/xyplot/plan.ts), then the labelled
 * grid (pipelines/xyplot/grid.ts), all staged and published together when every cell is done
 * (staging.ts): a cancel or a failure leaves no file behind. The grid is published last and carries
 * the first cell's parameters plus the axes (`X Type`, `X Values`, `Y Type`, `Y Values`, as A1111's
 * X/Y plot script writes them).
 *
 * Progress: `cell k/n`, step = cells finished, total = cells (with the running cell's previews).
 */
import { join } from 'node:path';
import sharp from 'sharp';
import type { JobOutput, OutputFile } from '../../protocol';
import { modelRoots, resolveModel } from '../io/model-discovery';
import { slug } from '../io/outputs';
import { formatParameters, type GenerationParameters } from '../io/png-metadata';
import { textToImage } from '../pipelines/text-to-image';
import { renderGrid, type GridCell, type GridLayout } from '../pipelines/xyplot/grid';
import { axisName, plotCells, valueLabel, type PlotCell } from '../pipelines/xyplot/plan';
import type { JobContext, JobHandler } from './contract';
import { PREVIEW_BUDGET } from './generate';
import { withStagedImages, type StagedImages } from './staging';

interface CellImage {
  cell: PlotCell;
  file: string;
  params: GenerationParameters;
}

export const xyplotHandler: JobHandler<'xyplot'> = async (params, ctx) => {
  const t0 = performance.now();
  const cells = plotCells(params, studentSteps);
  return withStagedImages(params.outputDir, ctx.jobId, async (stage) => {
    const images: CellImage[] = [];
    for (const cell of cells) images.push(await generateCell(cell, images.length, cells.length, stage, ctx, t0));
    if (ctx.isCancelled()) throw ctx.cancelled();
    const labels = {
      xName: axisName(params.x), yName: axisName(params.y),
      xValues: params.x.values.map((_, k) => valueLabel(params.x, k)), yValues: params.y.values.map((_, k) => valueLabel(params.y, k)),
    };
    const grid = await renderGrid(await cellPixels(images, params.y.values.length), labels, gridParameters(images[0].params, labels));
    stage.write(join(stage.outDir, `xyplot-${slug(params.prompt)}.png`), grid.png);
    const paths = stage.publish();
    const files: OutputFile[] = images.map((img, k) => ({
      path: paths[k], kind: 'image', width: img.params.width, height: img.params.height,
      metadata: { ...img.params, x: img.cell.x, y: img.cell.y, col: img.cell.col, row: img.cell.row },
    }));
    files.push({ path: paths[images.length], kind: 'image', width: grid.layout.width, height: grid.layout.height, metadata: gridMetadata(grid.layout, labels, params) });
    const metadata: JobOutput['metadata'] = {
      prompt: params.prompt, cells: cells.length, xSetting: params.x.setting, ySetting: params.y.setting,
      executionProviders: ctx.executionProviders, totalMs: Math.round(performance.now() - t0),
    };
    return { files, metadata };
  });
};

/** One cell's image, staged; progress counts finished cells, with the running cell's previews. */
async function generateCell(cell: PlotCell, done: number, n: number, stage: StagedImages, ctx: JobContext, t0: number): Promise<CellImage> {
  const stageName = `cell ${done + 1}/${n}`;
  const eta = () => (done > 0 ? Math.round(((performance.now() - t0) / done) * (n - done)) : undefined);
  const report = (step: number, preview?: Uint8Array) => {
    const etaMs = eta();
    ctx.onProgress({ stage: stageName, step, total: n, ...(etaMs !== undefined ? { etaMs } : {}), ...(preview ? { preview } : {}) });
  };
  const r = await textToImage({ ...cell.request, out: stage.out }, {
    isCancelled: ctx.isCancelled,
    onProgress: (p) => report(done, p.preview),
    executionProviders: ctx.executionProviders,
    intraOpNumThreads: ctx.intraOpNumThreads,
    writeImage: stage.write,
    previewBudget: PREVIEW_BUDGET,
  });
  report(done + 1);
  return { cell, file: r.files[0], params: r.metadata[0] };
}

/** The staged cells' pixels, row by row (the PNGs read back: an exact round trip). */
async function cellPixels(images: CellImage[], rows: number): Promise<GridCell[][]> {
  const grid: GridCell[][] = Array.from({ length: rows }, () => []);
  for (const img of images) {
    const { data, info } = await sharp(img.file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    grid[img.cell.row][img.cell.col] = { rgb: data, width: info.width, height: info.height };
  }
  return grid;
}

function gridParameters(first: GenerationParameters, labels: { xName: string; yName: string; xValues: string[]; yValues: string[] }): string {
  return formatParameters({
    ...first,
    extra: { ...first.extra, 'X Type': labels.xName, 'X Values': labels.xValues.join(', '), 'Y Type': labels.yName, 'Y Values': labels.yValues.join(', ') },
  });
}

function gridMetadata(layout: GridLayout, labels: { xValues: string[]; yValues: string[] }, params: { prompt: string; x: { setting: string }; y: { setting: string } }): Record<string, unknown> {
  return { grid: true, prompt: params.prompt, xSetting: params.x.setting, ySetting: params.y.setting, xValues: labels.xValues, yValues: labels.yValues, ...layout };
}

/** The steps a model folder was distilled for (undefined for a model that is no student). */
function studentSteps(model: string): number | undefined {
  const steps = resolveModel(model, modelRoots()).distill?.steps;
  return typeof steps === 'number' ? steps : undefined;
}
