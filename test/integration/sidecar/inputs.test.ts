import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import WebSocket from 'ws';
import { SidecarError, type LaunchedSidecar } from '../../../src/protocol';
import { FIXTURE, startSidecar, stopSidecar } from './helpers';

let s: LaunchedSidecar;
const dir = mkdtempSync(join(tmpdir(), 'ds-inputs-'));

before(async () => {
  s = await startSidecar();
});
after(async () => {
  await stopSidecar(s);
  rmSync(dir, { recursive: true, force: true });
});

/** Submits a generate request and returns the error it must end in (at submission or as the job's end). */
async function errorOf(params: Record<string, unknown>): Promise<SidecarError> {
  try {
    const job = await s.client.generate({ model: FIXTURE, prompt: 'a cat', steps: 1, outputDir: join(dir, 'out'), ...params } as never);
    await job.done;
  } catch (err) {
    assert.ok(err instanceof SidecarError, String(err));
    return err;
  }
  assert.fail(`expected an error for ${JSON.stringify(params)}`);
}

/** A PNG whose IHDR claims width x height, with a correct CRC (the pixel data is never reached). */
function pngHeaderClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

test('bad images are refused with image_invalid naming the file and the problem', async () => {
  const good = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366aa' } }).png().toBuffer();
  const noisy = await sharp(Buffer.from(Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 7919) % 251)), {
    raw: { width: 256, height: 256, channels: 3 },
  }).png().toBuffer();
  const cases: Array<[string, Buffer | 'dir' | 'missing', RegExp]> = [
    ['empty.png', Buffer.alloc(0), /empty \(0 bytes\)/],
    ['truncated.png', noisy.subarray(0, Math.floor(noisy.length / 2)), /damaged or truncated/],
    ['huge.png', pngHeaderClaiming(100_000, 100_000), /100000x100000 is too large/],
    ['tiny.png', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer(), /1x1 is too small/],
    ['sliver.png', await sharp({ create: { width: 2000, height: 10, channels: 3, background: '#000' } }).png().toBuffer(), /aspect ratio/],
    ['text.png', Buffer.from('this is not an image\n'), /not a readable image/],
    ['garbage.jpg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), good.subarray(0, 40)]), /not a readable image|damaged|truncated/],
    ['folder.png', 'dir', /not a file/],
    ['missing.png', 'missing', /no such file/],
  ];
  for (const [name, content, expected] of cases) {
    const path = join(dir, name);
    if (content === 'dir') mkdirSync(path);
    else if (content !== 'missing') writeFileSync(path, content);
    const err = await errorOf({ initImage: path });
    assert.equal(err.code, 'image_invalid', `${name}: ${err.message}`);
    assert.ok(err.message.includes(path), `${name}: the message names the file: ${err.message}`);
    assert.match(err.message, expected, name);
  }
});

test('missing or broken model folders are refused naming the model and the missing file', async () => {
  const unknown = await errorOf({ model: 'no-such-model' });
  assert.equal(unknown.code, 'model_not_found');
  assert.match(unknown.message, /no-such-model: no such model folder or model name/);

  const noUnet = join(dir, 'no-unet');
  cpSync(FIXTURE, noUnet, { recursive: true });
  rmSync(join(noUnet, 'unet'), { recursive: true });
  const e1 = await errorOf({ model: noUnet });
  assert.equal(e1.code, 'model_not_found');
  assert.match(e1.message, /no-unet\/unet\/model\.onnx: is missing/);

  const emptyUnet = join(dir, 'empty-unet');
  cpSync(FIXTURE, emptyUnet, { recursive: true });
  writeFileSync(join(emptyUnet, 'unet', 'model.onnx'), '');
  const e2 = await errorOf({ model: emptyUnet });
  assert.equal(e2.code, 'model_invalid');
  assert.match(e2.message, /unet\/model\.onnx is empty/);

  const notFolder = join(dir, 'file-not-folder');
  writeFileSync(notFolder, 'x');
  assert.match((await errorOf({ model: notFolder })).message, /file-not-folder: no such model folder/);
});

test('an output folder that cannot be a folder is refused with io_error naming it', async () => {
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, 'x');
  const err = await errorOf({ outputDir: file });
  assert.equal(err.code, 'io_error');
  assert.match(err.message, /not-a-folder: exists and is not a folder/);
  const under = await errorOf({ outputDir: join(file, 'sub') });
  assert.match(under.message, /not-a-folder\/sub: cannot be written \(ENOTDIR\)/);
  // Node 20's recursive mkdir never returns under /proc: the check must not hang on it.
  if (process.platform === 'linux') {
    assert.match((await errorOf({ outputDir: '/proc/ds-test/x' })).message, /cannot be written \(ENOENT\)/);
    const distill = s.client.distill({ teacher: FIXTURE, outputDir: '/proc/ds-test/student', method: 'progressive' });
    await assert.rejects(distill, (e: SidecarError) => e.code === 'io_error' && /\/proc\/ds-test: cannot be written/.test(e.message));
  }
});

test('NaN, Infinity and absurd parameters are refused naming the field', async () => {
  const ws = new WebSocket(s.banner.url, { headers: { Authorization: `Bearer ${s.secret}` } });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const ask = (raw: string) =>
    new Promise<{ code: string; message: string; field?: string }>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.send(raw);
    });
  const gen = (field: string, value: string) =>
    `{"v":1,"id":"x","type":"generate","params":{"model":"m","prompt":"a","${field}":${value}}}`;
  const cases: Array<[string, string, string, RegExp]> = [
    ['steps', 'NaN', 'bad_json', /not JSON/],
    ['steps', '1e400', 'invalid_params', /params\.steps/],
    ['steps', '-1', 'invalid_params', /params\.steps: Too small/],
    ['steps', '2.5', 'invalid_params', /params\.steps: .*int/],
    ['width', '1e9', 'invalid_params', /params\.width: Too big/],
    ['guidanceScale', '1e300', 'invalid_params', /params\.guidanceScale/],
    ['count', '100000', 'invalid_params', /params\.count/],
    ['seed', '8589934592', 'invalid_params', /params\.seed/],
    ['prompt', '42', 'invalid_params', /params\.prompt: .*string/],
    ['strength', '0', 'invalid_params', /params\.strength/],
    ['scheduler', '"warp-drive"', 'invalid_params', /params\.scheduler/],
  ];
  for (const [field, value, code, message] of cases) {
    const e = await ask(gen(field, value));
    assert.equal(e.code, code, `${field}=${value}: ${e.message}`);
    assert.match(e.message, message, `${field}=${value}`);
  }
  ws.close();
});

test('a corrupt model file fails the job with model_invalid naming the file', { skip: !hasGenerate() }, async () => {
  const corrupt = join(dir, 'corrupt-unet');
  cpSync(FIXTURE, corrupt, { recursive: true });
  writeFileSync(join(corrupt, 'unet', 'model.onnx'), readFileSync(join(FIXTURE, 'unet', 'model.onnx')).subarray(0, 100));
  const err = await errorOf({ model: corrupt });
  assert.equal(err.code, 'model_invalid', err.message);
  assert.ok(err.message.includes(join(corrupt, 'unet', 'model.onnx')), err.message);
});

function hasGenerate(): boolean {
  try {
    require.resolve('../../../src/sidecar/pipelines/text-to-image');
    return true;
  } catch {
    return false;
  }
}
