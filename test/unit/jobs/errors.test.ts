// The one error mapping (jobs/errors.ts): what a client of the sidecar and a person at the command line
// read for each kind of failure. The errors come from the real code that throws them where that is cheap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarError } from '../../../src/protocol';
import { asUserError, UserError } from '../../../src/sidecar/cli/errors';
import { readImageTensor } from '../../../src/sidecar/io/images';
import { resolveModel } from '../../../src/sidecar/io/model-discovery';
import { readJsonObject } from '../../../src/sidecar/io/model-folder';
import { prepareImage } from '../../../src/sidecar/io/prepare-image';
import { toSidecarError } from '../../../src/sidecar/jobs/errors';
import { DistillRequestError } from '../../../src/sidecar/pipelines/distill/plan';
import { GenerationCancelledError } from '../../../src/sidecar/pipelines/text-to-image';

const dir = mkdtempSync(join(tmpdir(), 'ds-errors-'));
const notAnImage = join(dir, 'notes.png');
writeFileSync(notAnImage, 'this is text, not a picture\n');

/** What the code under test threw. */
async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  assert.fail('expected it to throw');
}

test('model folder problems: absent things are model_not_found, broken ones model_invalid, message as io wrote it', async () => {
  const absent = await thrown(() => resolveModel(join(dir, 'no-such-model'), []));
  const e1 = toSidecarError(absent);
  assert.equal(e1.code, 'model_not_found');
  assert.equal(e1.message, (absent as Error).message);
  assert.match(e1.message, /no-such-model: no such model folder/);

  const badJson = join(dir, 'model_index.json');
  writeFileSync(badJson, '{ not json');
  const e2 = toSidecarError(await thrown(() => readJsonObject(badJson)));
  assert.equal(e2.code, 'model_invalid');
  assert.match(e2.message, /model_index\.json: is not valid JSON/);
});

test('an unreadable input image is image_invalid, named "image <path>", also when io reported it as a model file', async () => {
  const prepared = toSidecarError(await thrown(() => prepareImage(notAnImage, 32, 32)));
  assert.equal(prepared.code, 'image_invalid');
  assert.ok(prepared.message.startsWith(`image ${notAnImage}: `), prepared.message);

  const asTensor = await thrown(() => readImageTensor(notAnImage, 32, 32));
  assert.equal(toSidecarError(asTensor, { images: [notAnImage] }).code, 'image_invalid');
  assert.match(toSidecarError(asTensor, { images: [notAnImage] }).message, /^image .*notes\.png: cannot be read as an image/);
  // Not one of the job's input images: then it is a file of the model.
  assert.equal(toSidecarError(asTensor, { images: [] }).code, 'model_invalid');
});

test('file system errors are io_error with the system message; bad values invalid_params; the rest job_failed', async () => {
  const missing = toSidecarError(await thrown(() => readFileSync(join(dir, 'gone.bin'))));
  assert.equal(missing.code, 'io_error');
  assert.match(missing.message, /ENOENT: no such file or directory/);
  const underFile = toSidecarError(await thrown(() => writeFileSync(join(notAnImage, 'x.png'), '')));
  assert.equal(underFile.code, 'io_error');
  assert.match(underFile.message, /ENOTDIR/);

  assert.deepEqual(pick(toSidecarError(new RangeError('steps must be at least 1, got 0'))), ['invalid_params', 'steps must be at least 1, got 0']);
  assert.deepEqual(pick(toSidecarError(new DistillRequestError('toSteps must be a power of two'))), ['invalid_params', 'toSteps must be a power of two']);
  assert.deepEqual(pick(toSidecarError(new Error('tensor shapes disagree'))), ['job_failed', 'tensor shapes disagree']);
  assert.deepEqual(pick(toSidecarError('a string was thrown')), ['job_failed', 'a string was thrown']);
});

test('a SidecarError passes through; cancellation wins once a cancel was requested, whatever was thrown', () => {
  const typed = new SidecarError('queue_full', 'full');
  assert.equal(toSidecarError(typed), typed);

  assert.equal(toSidecarError(new GenerationCancelledError()).code, 'cancelled');
  let requested = false;
  const cancel = { isCancelled: () => requested, cancelled: () => new SidecarError('cancelled', 'job job-7 was cancelled', 'job-7') };
  assert.equal(toSidecarError(new Error('session released'), { cancel }).code, 'job_failed');
  requested = true;
  assert.deepEqual(pick(toSidecarError(new Error('session released'), { cancel })), ['cancelled', 'job job-7 was cancelled']);
  assert.deepEqual(pick(toSidecarError(new GenerationCancelledError(), { cancel })), ['cancelled', 'job job-7 was cancelled']);
});

test('the command line prints what the user can fix without a stack (exit 1 for their disk, 2 for their input), and keeps bugs as they are', async () => {
  const model = asUserError(await thrown(() => resolveModel(join(dir, 'nope'), [])));
  assert.ok(model instanceof UserError);
  assert.equal(model.exitCode, 2);
  assert.match(model.message, /nope: no such model folder/);

  const disk = asUserError(await thrown(() => readFileSync(join(dir, 'gone.bin'))));
  assert.ok(disk instanceof UserError);
  assert.equal(disk.exitCode, 1);

  const cancelled = asUserError(new GenerationCancelledError());
  assert.ok(cancelled instanceof UserError);

  const bug = new TypeError('cannot read properties of undefined');
  assert.equal(asUserError(bug), bug);
  const own = new UserError('--steps must be a whole number', 2);
  assert.equal(asUserError(own), own);
});

function pick(e: SidecarError): [string, string] {
  return [e.code, e.message];
}
