/**
 * A finished round as a usable model folder (diffusers ONNX layout, docs/DISTILLATION.md):
 *
 *   model_index.json                 "base": the folder that lends text encoder, VAE and tokenizer
 *   unet/model.onnx                  the student (weights inline; external data when large)
 *   unet/model.safetensors           its trained weights by name (for LoRA: only the adapters)
 *   unet/config.json                 the teacher's, plus "guidance_input" for a guided student
 *   scheduler/scheduler_config.json  the teacher's, with trailing spacing (the grid it was trained on)
 *   distill.json                     steps, guidance range, teacher and its hash, training settings
 *
 * The folder is written under a temporary name and renamed into place, so a crash never leaves half a
 * model; an existing folder is never overwritten.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { makeFoldersSync } from '../../io/folders';
import { dirname, join, relative } from 'node:path';
import { saveModel, type Graph } from '../../graph';
import type { TensorValue } from '../../graph/types';
import type { ModelFolder } from '../../io/model-folder';
import { writeSafetensors } from '../../io/safetensors';

export interface StudentFolder {
  dir: string;
  graph: Graph;
  /** Tensors for unet/model.safetensors. */
  weights: Map<string, TensorValue>;
  /** The model whose text encoder, VAE and tokenizer the student uses. */
  base: ModelFolder;
  /** The original teacher (for its unet/config.json and scheduler config). */
  teacher: ModelFolder;
  guided: boolean;
  /** Fields that replace the teacher's unet/config.json ones (a narrower student's width). */
  unetConfig?: Record<string, unknown>;
  distill: Record<string, unknown>;
}

/** Graphs above this many bytes of weights keep them in unet/model.onnx_data (protobuf's 2 GB cap). */
const INLINE_LIMIT = 512 * 1024 * 1024;

export function writeStudentFolder(s: StudentFolder): void {
  if (existsSync(s.dir)) throw new Error(`${s.dir} already exists; a student is never written over an existing folder`);
  const tmp = `${s.dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  makeFoldersSync(join(tmp, 'unet'));
  makeFoldersSync(join(tmp, 'scheduler'));
  const bytes = [...s.graph.initializers.values()].reduce((a, v) => a + v.data.byteLength, 0);
  saveModel(s.graph, join(tmp, 'unet', 'model.onnx'), bytes > INLINE_LIMIT ? { externalData: 'model.onnx_data' } : {});
  writeSafetensors(join(tmp, 'unet', 'model.safetensors'), s.weights, { format: 'diffusion-studio-student-1' });
  const unetConfig = readOptionalJson(join(dirname(s.teacher.files.unet), 'config.json'));
  json(join(tmp, 'unet', 'config.json'), { ...unetConfig, ...s.unetConfig, ...(s.guided ? { guidance_input: 'guidance_scale' } : {}) });
  const sched = JSON.parse(readFileSync(s.teacher.files.schedulerConfig, 'utf8')) as Record<string, unknown>;
  json(join(tmp, 'scheduler', 'scheduler_config.json'), { ...sched, _class_name: 'DDIMScheduler', timestep_spacing: 'trailing', steps_offset: 0 });
  json(join(tmp, 'model_index.json'), {
    _class_name: 'OnnxStableDiffusionPipeline',
    base: relative(s.dir, s.base.dir) || '.',
    unet: ['diffusers', 'OnnxRuntimeModel'],
    scheduler: ['diffusers', 'DDIMScheduler'],
  });
  json(join(tmp, 'distill.json'), s.distill);
  makeFoldersSync(dirname(s.dir));
  renameSync(tmp, s.dir);
}

function json(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function readOptionalJson(path: string): Record<string, unknown> {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
}
