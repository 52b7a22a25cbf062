// safetensors files over 2 GiB (a Stable Diffusion UNet's weights are 3.4 GB): written tensor by
// tensor and read back by offset, with a tensor that is itself over 2 GiB (one read(2) cannot carry it)
// and one that starts past the 2 GiB mark. Real data on disk, about 2.1 GB, checked byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader, readSafetensors, writeSafetensors, type LazyTensor } from '../../../src/sidecar/io/safetensors';

const CHUNK = 64 << 20;
const BIG = 2 ** 31 + 4096; // bytes: past what one Buffer read or write may carry
const chunkOf = (k: number, size: number): Buffer => {
  const b = Buffer.alloc(size, (k * 37 + 11) & 255);
  b.writeUInt32LE(k, 0); // each chunk differs, so a misplaced chunk is caught
  return b;
};
function* bigChunks(): Generator<Uint8Array> {
  for (let k = 0, at = 0; at < BIG; k++, at += CHUNK) yield chunkOf(k, Math.min(CHUNK, BIG - at));
}

test('a safetensors file over 2 GiB is written in a stream and read back by offset', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-large-'));
  const path = join(dir, 'large.safetensors');
  try {
    const head = { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.of(1, -2, 3.5, 4) };
    const tail = { dtype: 'float32' as const, dims: [1000], data: Float32Array.from({ length: 1000 }, (_, i) => i / 7) };
    const ids = { dtype: 'int64' as const, dims: [2], data: BigInt64Array.of(-1n, 2n ** 40n) };
    const big: LazyTensor = { dtype: 'uint8', dims: [BIG], chunks: bigChunks };
    writeSafetensors(path, [['head', head], ['big', big], ['tail', tail], ['ids', ids]], { step: '7' });
    const size = statSync(path).size;
    assert.ok(size > BIG + 4000 && size > 2 ** 31, `file is ${size} bytes`);

    // One tensor at a time: the ones past 2 GiB without reading the big one.
    const r = SafetensorsReader.open(path);
    try {
      assert.deepEqual(r.names, ['head', 'big', 'tail', 'ids']);
      assert.ok(r.entry('tail')!.begin > 2 ** 31, 'tail starts past the 2 GiB mark');
      assert.deepEqual(r.read('tail'), tail);
      assert.deepEqual(r.read('ids'), ids);
      assert.equal(r.metadata.step, '7');
    } finally {
      r.close();
    }

    // The whole file, as a checkpoint load does: every byte of the 2 GiB tensor in place.
    const all = readSafetensors(path);
    assert.deepEqual(all.tensors.get('head'), head);
    assert.deepEqual(all.tensors.get('tail'), tail);
    const got = all.tensors.get('big')!;
    assert.equal(got.data.byteLength, BIG);
    const bytes = Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength);
    for (let k = 0, at = 0; at < BIG; k++, at += CHUNK) {
      const n = Math.min(CHUNK, BIG - at);
      // Every chunk's marker and fill at its ends and middle; the chunks at either side of the 2 GiB
      // mark byte for byte (a full compare of all of them costs half a minute on this machine).
      if (at + n >= 2 ** 31 - CHUNK && at <= 2 ** 31) assert.equal(bytes.compare(chunkOf(k, n), 0, n, at, at + n), 0, `chunk ${k} differs`);
      const fill = (k * 37 + 11) & 255;
      assert.equal(bytes.readUInt32LE(at), k, `chunk ${k} is misplaced`);
      for (const i of [4, n >> 1, n - 1]) assert.equal(bytes[at + i], fill, `byte ${at + i} differs`);
    }

    // A file cut short (a copy interrupted) is refused by name, not read as garbage.
    truncateSync(path, size - 16);
    assert.throws(() => SafetensorsReader.open(path), /large\.safetensors: not a valid safetensors file \(tensor ids: offsets/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lazy tensor that yields the wrong number of bytes fails the write and leaves no file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-lazy-'));
  const path = join(dir, 'w.safetensors');
  try {
    const short: LazyTensor = { dtype: 'float32', dims: [4], chunks: () => [new Uint8Array(12)] };
    assert.throws(() => writeSafetensors(path, [['w', short]]), /w produced 12 bytes for shape \[4\] float32/);
    assert.throws(() => statSync(path), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
