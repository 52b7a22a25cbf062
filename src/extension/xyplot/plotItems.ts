/**
 * The extension's side of an X/Y plot, apart from VS Code (unit tests run it): the request made from a
 * generate request of the side panel's settings, and the gallery items made from the job's files.
 */
import { XY_SETTING_LABELS, type GenerateParams, type OutputFile, type XYAxis, type XYPlotParams } from '../../protocol';
import type { GalleryItem } from '../../../webview-ui/shared/messages';

/** A gallery item before it has ids (JobService gives them), with the request that makes it again. */
export type PlotItem = Omit<GalleryItem, 'src' | 'id' | 'jobId'> & { request: GenerateParams };

/**
 * The plot request: the generate request minus count and batch size, plus the axes. With a model
 * axis, the steps are the user's own setting (`chosenSteps`, possibly none) rather than the step count
 * of the current model when that is a student: each student on the axis samples with its own (the
 * sidecar's rule, pipelines/xyplot/plan.ts).
 */
export function plotParams(generate: GenerateParams, chosenSteps: number | undefined, x: XYAxis, y: XYAxis): XYPlotParams {
  const { count: _c, batchSize: _b, ...base } = generate;
  const params: XYPlotParams = { ...base, x, y };
  if (x.setting === 'model' || y.setting === 'model') {
    delete params.steps;
    if (chosenSteps !== undefined) params.steps = chosenSteps;
  }
  return params;
}

/**
 * A gallery item per file: each cell is an ordinary generated image (Re-run makes that cell again: its
 * request is the base with the cell's model, the rest pinned from its PNG parameters by Re-run); the
 * grid, last, is shown wide like an edit's contact sheet.
 */
export function plotItem(f: OutputFile, params: XYPlotParams): PlotItem {
  const meta = { ...(f.metadata ?? {}) };
  const { x, y, ...rest } = params;
  const request: GenerateParams = { ...rest, count: 1 };
  const [xName, yName] = [XY_SETTING_LABELS[x.setting], XY_SETTING_LABELS[y.setting]];
  if (meta.grid === true) {
    const values = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));
    return {
      kind: 'generate', path: f.path, sheet: true, grid: true, request, title: `X/Y plot: ${xName} × ${yName}`,
      params: { prompt: params.prompt, 'X Type': xName, 'X Values': values(meta.xValues), 'Y Type': yName, 'Y Values': values(meta.yValues) },
    };
  }
  if (typeof meta.model === 'string' && (x.setting === 'model' || y.setting === 'model')) request.model = meta.model;
  return { kind: 'generate', path: f.path, request, title: `${xName} ${String(meta.x)} · ${yName} ${String(meta.y)}`, params: meta };
}
