// The X/Y plot through the real sidecar over a real WebSocket: one job, one PNG per cell with its own
// parameters, and a grid PNG whose size is the cells plus the label bands and whose cells are exactly
// the single images (enlarged by a whole factor); a cancel stops the whole plot and leaves no file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseParameters, readTextChunks, SidecarError, type LaunchedSidecar, type OutputFile, type ProgressEvent } from '../../../src/protocol';
import { FIXTURE, startSidecar, stopSidecar } from './helpers';

let s: LaunchedSidecar;
const root = mkdtempSync(join(tmpdir(), 'ds-xyplot-'));
const folder = (name: string) => join(root, name);

before(async () => {
  s = await startSidecar();
});
after(async () => {
  await stopSidecar(s);
  rmSync(root, { recursive: true, force: true });
});

const raw = async (file: string) => sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const params = (f: OutputFile) => parseParameters(String(readTextChunks(readFileSync(f.path)).parameters));

/** The cell at (col, row) of the grid, sampled back down by the layout's scale. */
async function cellOf(grid: OutputFile, col: number, row: number): Promise<Buffer> {
  const m = grid.metadata as Record<string, number>;
  const { data, info } = await raw(grid.path);
  const w = m.cellWidth / m.scale;
  const h = m.cellHeight / m.scale;
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const gx = m.marginLeft + col * m.cellWidth + x * m.scale;
      const gy = m.marginTop + row * m.cellHeight + y * m.scale;
      data.copy(out, (y * w + x) * 3, (gy * info.width + gx) * 3, (gy * info.width + gx) * 3 + 3);
    }
  }
  return out;
}

/** Dark pixels (text) in a rectangle of the grid. */
async function inkIn(file: string, left: number, top: number, width: number, height: number): Promise<number> {
  const { data, info } = await raw(file);
  let n = 0;
  for (let y = top; y < top + height; y++) for (let x = left; x < left + width; x++) if (data[(y * info.width + x) * 3] < 128) n++;
  return n;
}

test('an X/Y plot of seed x steps is one job: 6 single PNGs with their parameters, then a labelled grid made of them', async () => {
  const out = folder('plot');
  const progress: ProgressEvent[] = [];
  const job = await s.client.xyplot({
    model: FIXTURE, prompt: 'a red circle', scheduler: 'ddim', seed: 5, outputDir: out,
    x: { setting: 'seed', values: [1, 2, 3] }, y: { setting: 'steps', values: [2, 3] },
  }, { onProgress: (p) => progress.push(p) });
  assert.equal(job.info.kind, 'xyplot');
  const r = await job.done;
  assert.equal(r.files.length, 7, 'six cells and the grid');
  const singles = r.files.slice(0, 6);
  const grid = r.files[6];
  for (const [k, f] of singles.entries()) {
    const p = params(f);
    assert.equal(p.fields.Seed, String([1, 2, 3][k % 3]), `cell ${k}: its X value is its seed`);
    assert.equal(p.fields.Steps, String([2, 3][Math.floor(k / 3)]), `cell ${k}: its Y value is its steps`);
    assert.equal(p.prompt, 'a red circle');
  }
  // The grid: cols x rows cells plus the label bands, and carries the plot's parameters.
  const m = grid.metadata as Record<string, number>;
  const single = await sharp(singles[0].path).metadata();
  const meta = await sharp(grid.path).metadata();
  assert.equal(m.cols, 3);
  assert.equal(m.rows, 2);
  assert.ok(Number.isInteger(m.scale) && m.scale >= 1);
  assert.equal(m.cellWidth, single.width * m.scale);
  assert.equal(m.cellHeight, single.height * m.scale);
  assert.ok(m.marginLeft > 0 && m.marginTop > 0);
  assert.equal(meta.width, m.marginLeft + 3 * single.width * m.scale);
  assert.equal(meta.height, m.marginTop + 2 * single.height * m.scale);
  const gp = params(grid);
  assert.equal(gp.fields['X Type'], 'Seed');
  assert.equal(gp.fields['X Values'], '1, 2, 3');
  assert.equal(gp.fields['Y Type'], 'Steps');
  assert.equal(gp.fields['Y Values'], '2, 3');
  // Every cell of the grid is the single image of that cell, pixel for pixel.
  for (const [k, f] of singles.entries()) {
    const { data } = await raw(f.path);
    assert.ok((await cellOf(grid, k % 3, Math.floor(k / 3))).equals(data), `grid cell ${k} equals ${f.path}`);
  }
  // Labels are drawn: ink above each column and left of each row, none over the corner.
  for (let c = 0; c < 3; c++) assert.ok(await inkIn(grid.path, m.marginLeft + c * m.cellWidth, 0, m.cellWidth, m.marginTop) > 20, `column ${c} has a label`);
  for (let r2 = 0; r2 < 2; r2++) assert.ok(await inkIn(grid.path, 0, m.marginTop + r2 * m.cellHeight, m.marginLeft, m.cellHeight) > 20, `row ${r2} has a label`);
  assert.equal(await inkIn(grid.path, 0, 0, m.marginLeft, m.marginTop), 0, 'the corner is blank');
  // Progress counts finished cells, up to all six.
  assert.ok(progress.every((p) => p.total === 6 && /^cell \d\/6$/.test(p.stage)));
  assert.deepEqual([...new Set(progress.map((p) => p.step))], [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(readdirSync(out).filter((n) => n.startsWith('.partial')), [], 'no staging left');
  assert.equal(readdirSync(out).filter((n) => n.endsWith('.png')).length, 7);
});

test('a teacher and its distilled student side by side: the student samples with its own steps, the teacher with the request\'s', async () => {
  const r = await (await s.client.xyplot({
    model: 'emoji-base', prompt: 'cat face', seed: 3, steps: 8, outputDir: folder('students'),
    x: { setting: 'model', values: ['emoji-base', 'emoji-guided-4'] }, y: { setting: 'guidanceScale', values: [2, 4] },
  })).done;
  const [teacher, student] = r.files.slice(0, 2).map(params);
  assert.equal(teacher.fields.Model, 'emoji-base');
  assert.equal(teacher.fields.Steps, '8');
  assert.equal(student.fields.Model, 'emoji-guided-4');
  assert.equal(student.fields.Steps, '4');
  assert.equal(params(r.files[2]).fields['CFG scale'], '4', 'row 2 has the second guidance');
  assert.equal(params(r.files[4]).fields['X Values'], 'emoji-base, emoji-guided-4');
});

test('cancel stops the whole plot: the job ends cancelled, no cell after it runs, and no file is left', async () => {
  const out = folder('cancelled');
  let first: () => void = () => undefined;
  const started = new Promise<void>((r) => (first = r));
  const progress: ProgressEvent[] = [];
  const job = await s.client.xyplot({
    model: FIXTURE, prompt: 'a long plot', steps: 1000, width: 256, height: 256, outputDir: out,
    x: { setting: 'seed', values: [1, 2] }, y: { setting: 'guidanceScale', values: [1, 5] },
  }, { onProgress: (p) => { progress.push(p); first(); } });
  await started;
  await job.cancel();
  await assert.rejects(job.done, (e: SidecarError) => e.code === 'cancelled');
  assert.equal((await s.client.jobStatus(job.jobId)).jobs[0].state, 'cancelled');
  assert.ok(progress.every((p) => p.stage === 'cell 1/4'), 'it stopped inside the first cell');
  assert.deepEqual(readdirSync(out), [], 'nothing published, no staging left');
});

test('bad axes are refused before queueing, naming the axis and the value', async () => {
  const base = { model: FIXTURE, prompt: 'x', outputDir: folder('refused') };
  const refused = async (p: object, code: string, message: RegExp) => {
    await assert.rejects(s.client.xyplot({ ...base, ...p } as never), (e: SidecarError) => {
      assert.equal(e.code, code);
      assert.match(e.message, message);
      return true;
    });
  };
  await refused({ x: { setting: 'steps', values: [4, 2000] }, y: { setting: 'seed', values: [1] } }, 'invalid_params', /xyplot\.params\.x\.values\.1: .*1000/);
  await refused({ x: { setting: 'scheduler', values: ['ddim', 'warp drive'] }, y: { setting: 'seed', values: [1] } }, 'invalid_params', /params\.x\.values\.1: unknown scheduler "warp drive"/);
  await refused({ x: { setting: 'seed', values: [1] }, y: { setting: 'seed', values: [2] } }, 'invalid_params', /params\.y\.setting: X and Y both vary seed/);
  await refused({ x: { setting: 'seed', values: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, y: { setting: 'steps', values: [1, 2, 3, 4, 5, 6, 7, 8] } }, 'invalid_params', /9 x 8 = 72 cells; at most 64/);
  await refused({ x: { setting: 'model', values: [FIXTURE, 'no-such-model'] }, y: { setting: 'seed', values: [1] } }, 'model_not_found', /model axis, value 2 \("no-such-model"\)/);
  assert.deepEqual(readdirSync(root).includes('refused') ? readdirSync(folder('refused')) : [], []);
});
