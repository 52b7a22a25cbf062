/**
 * A LoRA student's teacher runs on the weights the student's training step is fed (one copy of the
 * UNet instead of two, the difference between fitting and not at Stable Diffusion size): it must give
 * exactly the teacher's guided predictions from its own file, and it is used only when every weight it
 * needs is fed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../../src/sidecar/graph/init';
import { studentTrainStep, type StudentSpec } from '../../../src/sidecar/pipelines/distill/student';
import { openTeacher, Teacher, type TeacherBatch } from '../../../src/sidecar/pipelines/distill/teacher';
import { Trainer } from '../../../src/sidecar/train/trainer';

const UNET = 'models/emoji-base/unet/model.onnx';
const opts = { lr: 1e-4, clipNorm: 1, weightDecay: 0, iterations: 10 };

function batch(): TeacherBatch {
  const rng = new Rng(7);
  const B = 3, L = 16, D = 64;
  return {
    z: rng.fillNormal(new Float32Array(B * 4 * 8 * 8)), t: [999, 500, 3], latentShape: [4, 8, 8], contextShape: [L, D],
    cond: rng.fillNormal(new Float32Array(B * L * D)), uncond: rng.fillNormal(new Float32Array(L * D)), scales: [1, 3, 7.5],
  };
}

async function teacherFor(spec: StudentSpec, frozen: 'inputs' | 'initializers') {
  const { step, student } = studentTrainStep(spec, { ...opts, frozen });
  const trainer = await Trainer.create(step, { threads: 1 });
  const teacher = await openTeacher(spec.unetPath, student.teacher, trainer.frozenFeeds, 1);
  return { teacher, trainer, fed: step.frozen.size };
}

for (const addGuidance of [false, true]) {
  test(`LoRA student${addGuidance ? ' with the guidance input added' : ''}: the teacher on the fed weights predicts what the file's teacher does, to float rounding`, async () => {
    const spec: StudentSpec = { unetPath: UNET, addGuidance, loraRank: 2 };
    const shared = await teacherFor(spec, 'inputs');
    const own = await Teacher.open(UNET, 1);
    try {
      assert.ok(shared.fed > 0, 'the student step is fed its big weights');
      assert.equal(shared.teacher.sharesWeights, true);
      assert.equal(own.sharesWeights, false);
      const a = await shared.teacher.predict(batch());
      const b = await own.predict(batch());
      assert.equal(a.length, b.length);
      // Not bitwise: ORT prepacks initializer weights for its GEMMs, fed ones it reads as they are.
      let worst = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      assert.ok(scale > 1 && worst < 1e-5 * scale, `largest difference ${worst} at outputs up to ${scale}`);
      // A training step in between changes only the adapters: the teacher's weights are untouched.
      await shared.trainer.trainStep(feedsFor(shared.trainer));
      const c = await shared.teacher.predict(batch());
      assert.deepEqual(c, a);
    } finally {
      await shared.teacher.release();
      await shared.trainer.dispose();
    }
  });
}

test('a student step that keeps its weights itself (initializers), or a full fine-tune, gets a teacher with its own copy', async () => {
  for (const [spec, frozen] of [
    [{ unetPath: UNET, addGuidance: false, loraRank: 2 }, 'initializers'],
    [{ unetPath: UNET, addGuidance: false, loraRank: 0 }, 'inputs'],
  ] as const) {
    const t = await teacherFor(spec, frozen);
    assert.equal(t.teacher.sharesWeights, false, `${spec.loraRank ? 'LoRA' : 'full'} / ${frozen}`);
    await t.trainer.dispose();
  }
});

/** One training batch for `trainer`'s student step (its data inputs, at batch 3). */
function feedsFor(trainer: Trainer) {
  const b = batch();
  const rng = new Rng(9);
  return {
    sample: new ort.Tensor('float32', b.z, [3, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from(b.t.map(BigInt)), [3]),
    encoder_hidden_states: new ort.Tensor('float32', b.cond, [3, 16, 64]),
    target: new ort.Tensor('float32', rng.fillNormal(new Float32Array(3 * 4 * 8 * 8)), [3, 4, 8, 8]),
    weight: new ort.Tensor('float32', Float32Array.of(1, 1, 1), [3]),
    ...(trainer.spec.dataInputs.includes('guidance_scale') ? { guidance_scale: new ort.Tensor('float32', Float32Array.of(1, 3, 7.5), [3]) } : {}),
  };
}
