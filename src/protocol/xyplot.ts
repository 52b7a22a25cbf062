/**
 * The X/Y plot job's parameters: one generation varied along two settings, one image per cell plus one
 * labelled grid. Each axis names a setting and its values; the values are checked with the same bounds
 * as a generate request's field, so a bad one is refused at the door with the axis and index named
 * (e.g. `params.x.values.2: Too big: expected number to be <=1000`).
 */
import { z } from 'zod';
import { GenerateParams, pathLike } from './params';

/** The settings an axis may vary, in the order a picker offers them. */
export const XY_SETTINGS = ['seed', 'guidanceScale', 'steps', 'scheduler', 'model'] as const;
export type XYSetting = (typeof XY_SETTINGS)[number];

/** The names A1111 gives them (also the keys of a PNG's `parameters`): what the grid's labels say. */
export const XY_SETTING_LABELS: Record<XYSetting, string> = {
  seed: 'Seed',
  guidanceScale: 'CFG scale',
  steps: 'Steps',
  scheduler: 'Sampler',
  model: 'Model',
};

/** At most this many values per axis and cells per plot: a grid is for looking at, and each cell is a generation. */
export const XY_MAX_VALUES = 16;
export const XY_MAX_CELLS = 64;

const values = <T extends z.ZodType>(t: T) => z.array(t).min(1).max(XY_MAX_VALUES);
const g = GenerateParams.shape;

export const XYAxis = z.discriminatedUnion('setting', [
  z.strictObject({ setting: z.literal('seed'), values: values(g.seed.unwrap()) }),
  z.strictObject({ setting: z.literal('guidanceScale'), values: values(g.guidanceScale.unwrap()) }),
  z.strictObject({ setting: z.literal('steps'), values: values(g.steps.unwrap()) }),
  z.strictObject({ setting: z.literal('scheduler'), values: values(g.scheduler.unwrap()) }),
  /** Model ids or folders; the sidecar resolves each before the job is queued. */
  z.strictObject({ setting: z.literal('model'), values: values(pathLike) }),
]);
export type XYAxis = z.infer<typeof XYAxis>;

/**
 * A generate request (one image per cell: no count, no batch size) plus the two axes. Every cell is the
 * base request with the X and Y settings replaced by the cell's values; `model` is the base model (for
 * a model axis, the cells' models replace it).
 */
export const XYPlotParams = GenerateParams.omit({ count: true, batchSize: true })
  .extend({ x: XYAxis, y: XYAxis })
  .superRefine((p, ctx) => {
    if (p.x.setting === p.y.setting) {
      ctx.addIssue({ code: 'custom', path: ['y', 'setting'], message: `X and Y both vary ${p.x.setting}: pick two different settings` });
    }
    const cells = p.x.values.length * p.y.values.length;
    if (cells > XY_MAX_CELLS) {
      ctx.addIssue({ code: 'custom', path: ['y', 'values'], message: `${p.x.values.length} x ${p.y.values.length} = ${cells} cells; at most ${XY_MAX_CELLS}` });
    }
  });
export type XYPlotParams = z.infer<typeof XYPlotParams>;
