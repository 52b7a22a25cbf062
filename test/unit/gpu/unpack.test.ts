// scripts/gpu/unpack.sh on a synthetic pack in pack.sh's format (a container of per-component
// .tar.xz files split into numbered chunks with SHA256SUMS, one carry folder per chunk): waits for
// missing chunks, refuses a damaged one by name, reassembles and unpacks, and writes env.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const sh = (cmd: string, cwd: string) => execFileSync('bash', ['-c', cmd], { cwd, encoding: 'utf8' });

/** A pack with two components, split into chunks of 4 KiB; returns the carry root. */
function makePack(root: string): string {
  const stage = join(root, 'stage');
  for (const [component, file, bytes] of [['ort', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', 6000], ['node', 'node/bin/node', 3000]] as const) {
    const dir = join(stage, component, 'ds-gpu', file, '..');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(stage, component, 'ds-gpu', file), randomBytes(bytes)); // incompressible: several chunks
    sh(`tar -C ${join(stage, component)} -cf - ds-gpu | xz -1 -c > ${join(root, 'parts', `${component}.tar.xz`)}`, root);
  }
  writeFileSync(join(root, 'parts', 'VERSIONS'), 'test pack\n');
  sh('tar -C parts -cf ds-gpu.tar VERSIONS ort.tar.xz node.tar.xz', root);
  sh('mkdir -p split && split -b 4K -d -a 2 ds-gpu.tar split/ds-gpu.tar.part', root);
  const parts = readdirSync(join(root, 'split')).sort();
  const sums = sh('sha256sum ds-gpu.tar', root) + sh('cd split && sha256sum ds-gpu.tar.part*', root) + `# chunks ${parts.length}\n`;
  parts.forEach((p, i) => {
    const dir = join(root, 'carry', String(i + 1));
    mkdirSync(dir, { recursive: true });
    renameSync(join(root, 'split', p), join(dir, p));
    writeFileSync(join(dir, 'SHA256SUMS'), sums);
  });
  return join(root, 'carry');
}

test('unpack.sh: waits for chunks, refuses a damaged one, reassembles and writes env.sh', () => {
  const root = mkdtempSync(join(tmpdir(), 'gpu-unpack-'));
  try {
    mkdirSync(join(root, 'parts'));
    const carry = makePack(root);
    const n = readdirSync(carry).length;
    assert.ok(n >= 3, `expected several chunks, got ${n}`);
    // A stand-in for PyTorch's CUDA 13 wheels: nvidia/cu13/lib and nvidia/cudnn/lib with versioned files.
    const site = join(root, 'site-packages');
    for (const f of ['nvidia/cu13/lib/libcublas.so.13', 'nvidia/cu13/lib/libnvrtc.so.13', 'nvidia/cudnn/lib/libcudnn.so.9']) {
      mkdirSync(join(site, f, '..'), { recursive: true });
      writeFileSync(join(site, f), '');
    }
    const env = { ...process.env, PYTHONPATH: site, DS_GPU_CARRY: join(root, 'arrived'), DS_GPU_HOME: join(root, 'home'), DS_GPU_CHUNKS: join(root, 'chunks') };
    const unpack = () => spawnSync('bash', ['scripts/gpu/unpack.sh'], { env, encoding: 'utf8' });
    const arrive = (i: number) => sh(`mkdir -p arrived && cp -r carry/${i} arrived/`, root);

    arrive(1);
    let r = unpack();
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`chunks: 1 of ${n}`));

    // A damaged chunk is named and refused.
    arrive(2);
    const part = join(root, 'arrived', '2', readdirSync(join(root, 'arrived', '2')).find((f) => f.includes('.part'))!);
    const bytes = readFileSync(part);
    bytes[100] ^= 0xff;
    writeFileSync(part, bytes);
    r = unpack();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /chunk ds-gpu\.tar\.part01 is damaged/);

    // The good copy arrives (a later call), then the rest: everything unpacks.
    rmSync(join(root, 'arrived', '2'), { recursive: true });
    for (let i = 2; i <= n; i++) arrive(i);
    r = unpack();
    assert.equal(r.status, 0, r.stderr);
    const home = join(root, 'home');
    assert.equal(readFileSync(join(home, 'node/bin/node')).length, 3000);
    assert.equal(readFileSync(join(home, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1')).length, 6000);
    const envSh = readFileSync(join(home, 'env.sh'), 'utf8');
    assert.match(envSh, new RegExp(`export NODE_PATH="${home}/node_modules"`));
    assert.match(envSh, /LD_LIBRARY_PATH=".*lib-links.*napi-v6\/linux\/x64/);
    // The wheels' lib folders are on the path, and ORT's unversioned dlopen names are linked.
    assert.ok(envSh.includes(`${site}/nvidia/cu13/lib`) && envSh.includes(`${site}/nvidia/cudnn/lib`), envSh);
    assert.equal(readlinkSync(join(home, 'lib-links/libcudnn.so')), `${site}/nvidia/cudnn/lib/libcudnn.so.9`);
    assert.equal(readlinkSync(join(home, 'lib-links/libnvrtc.so')), `${site}/nvidia/cu13/lib/libnvrtc.so.13`);

    // Running again (every device call does) keeps what is there.
    r = unpack();
    assert.equal(r.status, 0);
    assert.match(r.stderr, /already unpacked/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
