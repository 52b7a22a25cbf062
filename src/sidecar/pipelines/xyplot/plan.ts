/**
 * The cells of an X/Y plot: the base request with the X and Y settings replaced by each cell's values,
 * row by row (Y), column by column (X) within a row, and the labels the grid shows for each value.
 */
import { basename } from 'node:path';
import { samplerLabel, XY_SETTING_LABELS, type SamplerId, type XYAxis, type XYPlotParams } from '../../../protocol';
import type { TextToImageRequest } from '../request';

export interface PlotCell {
  col: number;
  row: number;
  /** The request of this cell (no output folder: the job's staging decides). */
  request: Omit<TextToImageRequest, 'out'>;
  /** The cell's X and Y values as the grid labels them. */
  x: string;
  y: string;
}

/**
 * Every cell's request. `studentSteps(model)`: the steps a model folder was distilled for, if it is a
 * student: a student on a model axis samples with them (as the extension's Generate does) unless
 * steps is itself an axis, because the base request's steps are the teacher's.
 */
export function plotCells(p: XYPlotParams, studentSteps: (model: string) => number | undefined): PlotCell[] {
  const { x, y, outputDir: _o, ...base } = p;
  const cells: PlotCell[] = [];
  for (const [row, yv] of y.values.entries()) {
    for (const [col, xv] of x.values.entries()) {
      const request: Omit<TextToImageRequest, 'out'> = { ...base, count: 1, [y.setting]: yv, [x.setting]: xv };
      const modelAxis = x.setting === 'model' || y.setting === 'model';
      const stepsAxis = x.setting === 'steps' || y.setting === 'steps';
      const own = modelAxis && !stepsAxis ? studentSteps(request.model!) : undefined;
      if (own !== undefined) request.steps = own;
      cells.push({ col, row, request, x: valueLabel(x, col), y: valueLabel(y, row) });
    }
  }
  return cells;
}

/** How the grid labels value `k` of an axis: a model by its folder's name, a sampler by its A1111 name. */
export function valueLabel(axis: XYAxis, k: number): string {
  const v = axis.values[k];
  if (axis.setting === 'model') return basename(String(v));
  if (axis.setting === 'scheduler') return samplerLabel(v as SamplerId);
  return String(v);
}

export function axisName(axis: XYAxis): string {
  return XY_SETTING_LABELS[axis.setting];
}
