/**
 * The X/Y plot's grid picture: one column per X value, one row per Y value, each cell one image of the
 * plot, with the X labels in a band above the cells and the Y labels in a band to their left (the
 * setting's name on one line, the value under it), rendered by sharp from SVG text.
 *
 * Small images (the embedded models make 32x32) are enlarged by a whole factor with nearest-neighbour
 * sampling, so every cell pixel is a block of identical pixels (nothing is blurred or invented) and the
 * labels have room to be read. Cells of different sizes (models of other resolutions) sit in the
 * top-left corner of a box of the largest size.
 */
import sharp from 'sharp';
import { sharpToPng } from '../../io/images';

/** Cells are enlarged until their longer side is at least this many pixels. */
export const GRID_CELL_MIN = 128;
const FONT_PX = 13;
const LINE_PX = 17;
const PAD = 6;
/** Characters per line of a Y label at most: the left band is as wide as the longest label, up to this. */
const Y_LABEL_CHARS = 18;
/** A bold character's mean width at FONT_PX, in ems (sans-serif, measured loosely: a band a little wide is fine). */
const CHAR_EM = 0.65;

export interface GridCell {
  /** Interleaved 8-bit RGB. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

export interface GridLabels {
  /** The settings' names, e.g. "Model", "Seed". */
  xName: string;
  yName: string;
  /** One per column and per row, as shown. */
  xValues: string[];
  yValues: string[];
}

/** Where things are in a grid: what a test or a reader needs to cut a cell back out. */
export interface GridLayout {
  cols: number;
  rows: number;
  /** A cell's box (its image enlarged by `scale`, the largest of them). */
  cellWidth: number;
  cellHeight: number;
  scale: number;
  /** The label bands: left of the cells (Y) and above them (X). */
  marginLeft: number;
  marginTop: number;
  width: number;
  height: number;
}

export function gridLayout(cells: GridCell[][], labels: GridLabels): GridLayout {
  const rows = cells.length;
  const cols = cells[0]?.length ?? 0;
  if (rows !== labels.yValues.length || cols !== labels.xValues.length || cells.some((r) => r.length !== cols)) {
    throw new Error(`grid: ${rows} rows of cells for ${labels.yValues.length} Y values, ${cols} columns for ${labels.xValues.length} X values`);
  }
  const all = cells.flat();
  const maxW = Math.max(...all.map((c) => c.width));
  const maxH = Math.max(...all.map((c) => c.height));
  const scale = Math.max(1, Math.ceil(GRID_CELL_MIN / Math.max(maxW, maxH)));
  const cellWidth = maxW * scale;
  const cellHeight = maxH * scale;
  const marginTop = 2 * LINE_PX + 2 * PAD;
  const chars = Math.min(Y_LABEL_CHARS, Math.max(labels.yName.length, ...labels.yValues.map((v) => v.length)));
  const marginLeft = Math.round(chars * FONT_PX * CHAR_EM) + 2 * PAD;
  return { cols, rows, cellWidth, cellHeight, scale, marginLeft, marginTop, width: marginLeft + cols * cellWidth, height: marginTop + rows * cellHeight };
}

/** The grid as a PNG, with `parameters` as its A1111 text chunk. */
export async function renderGrid(cells: GridCell[][], labels: GridLabels, parameters: string): Promise<{ png: Buffer; layout: GridLayout }> {
  const layout = gridLayout(cells, labels);
  const composites: sharp.OverlayOptions[] = [];
  for (const [row, line] of cells.entries()) {
    for (const [col, cell] of line.entries()) {
      const w = cell.width * layout.scale;
      const h = cell.height * layout.scale;
      const big = await sharp(cell.rgb, { raw: { width: cell.width, height: cell.height, channels: 3 } }).resize(w, h, { kernel: 'nearest' }).raw().toBuffer();
      composites.push({ input: big, raw: { width: w, height: h, channels: 3 }, left: layout.marginLeft + col * layout.cellWidth, top: layout.marginTop + row * layout.cellHeight });
    }
  }
  composites.push({ input: Buffer.from(labelSvg(layout, labels)), left: 0, top: 0 });
  const canvas = sharp({ create: { width: layout.width, height: layout.height, channels: 3, background: { r: 255, g: 255, b: 255 } } });
  return { png: await sharpToPng(canvas.composite(composites), { parameters }), layout };
}

/** The label bands as one SVG the size of the grid: the names muted, the values in bold. */
function labelSvg(l: GridLayout, labels: GridLabels): string {
  const xChars = Math.max(4, Math.floor(l.cellWidth / (FONT_PX * CHAR_EM)));
  const text = (x: number, y: number, s: string, cls: string, anchor: string, chars: number) =>
    `<text x="${x}" y="${y}" class="${cls}" text-anchor="${anchor}">${escapeXml(fit(s, chars))}</text>`;
  const parts: string[] = [];
  for (const [col, v] of labels.xValues.entries()) {
    const cx = l.marginLeft + col * l.cellWidth + l.cellWidth / 2;
    parts.push(text(cx, PAD + FONT_PX, labels.xName, 'name', 'middle', xChars), text(cx, PAD + LINE_PX + FONT_PX, v, 'value', 'middle', xChars));
  }
  for (const [row, v] of labels.yValues.entries()) {
    const cy = l.marginTop + row * l.cellHeight + l.cellHeight / 2;
    const x = l.marginLeft - PAD;
    parts.push(text(x, cy - 2, labels.yName, 'name', 'end', Y_LABEL_CHARS), text(x, cy + LINE_PX - 2, v, 'value', 'end', Y_LABEL_CHARS));
  }
  const style = `text{font-family:sans-serif;font-size:${FONT_PX}px;fill:#222}.name{fill:#666}.value{font-weight:bold}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}"><style>${style}</style>${parts.join('')}</svg>`;
}

/** A label that would not fit is cut with an ellipsis rather than run into its neighbour. */
function fit(s: string, chars: number): string {
  return s.length > chars ? `${s.slice(0, chars - 1)}…` : s;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
