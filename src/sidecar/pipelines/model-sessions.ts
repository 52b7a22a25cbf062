/**
 * Opens a model folder's ONNX sessions and checks that their inputs and outputs are the ones the
 * pipeline feeds and reads (the Stable Diffusion ONNX export's names), with types it can produce:
 *
 *   text_encoder  input_ids (int64|int32) -> last_hidden_state (float, rank 3)
 *   unet          sample (float, [B, C, h, w]), timestep (int64|int32|float, rank 0 or 1),
 *                 encoder_hidden_states (float, rank 3) [, guidance_scale (float, rank 0 or 1)] -> out_sample
 *   vae_decoder   latent_sample -> sample        vae_encoder   sample -> latent_sample
 *
 * Any mismatch stops here with the file and the problem, before a single step runs. Sessions come from
 * the one session cache (runtime/sessions.ts) and the tokenizer from io/tokenizer.ts's cache, both keyed
 * by the files' path, size and mtime, so opening a model per request costs a few stat calls and these
 * metadata checks.
 */
import type * as ort from 'onnxruntime-node';
import { ModelFolderError } from '../io/errors';
import type { ModelFolder } from '../io/model-folder';
import { cachedTokenizer, type PromptTokenizer } from '../io/tokenizer';
import { getSession, type SessionRequest } from '../runtime/sessions';
import type { FloatType } from './tensors';

type Meta = ort.InferenceSession.ValueMetadata;
type TensorMeta = Extract<Meta, { isTensor: true }>;

export interface UnetSignature {
  /** dtype of sample / encoder_hidden_states / out_sample. */
  floatType: FloatType;
  timestepType: 'int64' | 'int32' | 'float32' | 'float16';
  /** How the timestep is shaped: a scalar, [1] shared by the batch, or one per batch row. */
  timestepShape: 'scalar' | 'one' | 'batch';
  /** A guided student (Meng et al. 2023): guidance scale is an input, one evaluation per step. */
  guidanceInput: { type: FloatType; shape: 'scalar' | 'one' | 'batch' } | null;
  latentChannels: number;
  /** Fixed latent height/width when the export froze them, else null. */
  latentSize: [number, number] | null;
}

export interface OpenModel {
  folder: ModelFolder;
  tokenizer: PromptTokenizer;
  textEncoder: ort.InferenceSession;
  textIdsType: 'int64' | 'int32';
  textFloatType: FloatType;
  unet: ort.InferenceSession;
  unetSig: UnetSignature;
  vaeDecoder: ort.InferenceSession;
  vaeDecoderFloat: FloatType;
  /** Opened only when asked for (image-to-image). */
  vaeEncoder: ort.InferenceSession | null;
  vaeEncoderFloat: FloatType;
}

export async function openModel(folder: ModelFolder, req: SessionRequest, needEncoder = false): Promise<OpenModel> {
  const f = folder.files;
  const [textEncoder, unet, vaeDecoder] = await Promise.all([
    getSession(f.textEncoder, req),
    getSession(f.unet, req),
    getSession(f.vaeDecoder, req),
  ]);
  const ids = input(textEncoder, f.textEncoder, 'input_ids', ['int64', 'int32']);
  const hidden = output(textEncoder, f.textEncoder, 'last_hidden_state', ['float32', 'float16'], 3);
  const unetSig = checkUnet(unet, f.unet, hidden);
  const latent = input(vaeDecoder, f.vaeDecoder, 'latent_sample', ['float32', 'float16'], 4);
  output(vaeDecoder, f.vaeDecoder, 'sample', ['float32', 'float16'], 4);
  let vaeEncoder: ort.InferenceSession | null = null;
  let vaeEncoderFloat: FloatType = 'float32';
  if (needEncoder) {
    if (!f.vaeEncoder) throw new ModelFolderError(`${folder.dir}/vae_encoder/model.onnx`, 'is missing (image-to-image needs the VAE encoder)');
    vaeEncoder = await getSession(f.vaeEncoder, req);
    vaeEncoderFloat = input(vaeEncoder, f.vaeEncoder, 'sample', ['float32', 'float16'], 4).type as FloatType;
    output(vaeEncoder, f.vaeEncoder, 'latent_sample', ['float32', 'float16'], 4);
  }
  const seq = hidden.shape[1];
  return {
    folder,
    tokenizer: cachedTokenizer(f.tokenizerDir, typeof seq === 'number' ? seq : 77),
    textEncoder,
    textIdsType: ids.type as 'int64' | 'int32',
    textFloatType: hidden.type as FloatType,
    unet,
    unetSig,
    vaeDecoder,
    vaeDecoderFloat: latent.type as FloatType,
    vaeEncoder,
    vaeEncoderFloat,
  };
}

function checkUnet(s: ort.InferenceSession, path: string, hidden: TensorMeta): UnetSignature {
  const known = ['sample', 'timestep', 'encoder_hidden_states', 'guidance_scale'];
  const sample = input(s, path, 'sample', ['float32', 'float16'], 4);
  const t = input(s, path, 'timestep', ['int64', 'int32', 'float32', 'float16']);
  const ctx = input(s, path, 'encoder_hidden_states', ['float32', 'float16'], 3);
  output(s, path, 'out_sample', ['float32', 'float16'], 4);
  const extra = s.inputNames.filter((n) => !known.includes(n));
  if (extra.length) throw new ModelFolderError(path, `has inputs the pipeline cannot feed: ${extra.join(', ')} (expected ${known.join(', ')})`);
  const width = [ctx.shape[2], hidden.shape[2]];
  if (typeof width[0] === 'number' && typeof width[1] === 'number' && width[0] !== width[1]) {
    throw new ModelFolderError(path, `encoder_hidden_states has width ${width[0]} but the text encoder gives ${width[1]}`);
  }
  const channels = sample.shape[1];
  const [h, w] = [sample.shape[2], sample.shape[3]];
  const g = s.inputNames.includes('guidance_scale') ? input(s, path, 'guidance_scale', ['float32', 'float16']) : null;
  return {
    floatType: sample.type as FloatType,
    timestepType: t.type as UnetSignature['timestepType'],
    timestepShape: shapeKind(t, path),
    guidanceInput: g ? { type: g.type as FloatType, shape: shapeKind(g, path) } : null,
    latentChannels: typeof channels === 'number' ? channels : 4,
    latentSize: typeof h === 'number' && typeof w === 'number' ? [h, w] : null,
  };
}

function shapeKind(m: TensorMeta, path: string): 'scalar' | 'one' | 'batch' {
  if (m.shape.length === 0) return 'scalar';
  if (m.shape.length !== 1) throw new ModelFolderError(path, `input ${m.name} must be a scalar or a vector, its shape is [${m.shape.join(', ')}]`);
  return m.shape[0] === 1 ? 'one' : 'batch';
}

function find(list: readonly Meta[], names: readonly string[], path: string, name: string, what: string): TensorMeta {
  const m = list.find((x) => x.name === name);
  if (!m) throw new ModelFolderError(path, `has no ${what} named "${name}" (its ${what}s: ${names.join(', ') || 'none'})`);
  if (!m.isTensor) throw new ModelFolderError(path, `${what} "${name}" is not a tensor`);
  return m;
}

function check(m: TensorMeta, path: string, what: string, types: readonly string[], rank?: number): TensorMeta {
  if (!types.includes(m.type)) throw new ModelFolderError(path, `${what} "${m.name}" is ${m.type}; expected ${types.join(' or ')}`);
  if (rank !== undefined && m.shape.length !== 0 && m.shape.length !== rank) {
    throw new ModelFolderError(path, `${what} "${m.name}" has rank ${m.shape.length} ([${m.shape.join(', ')}]); expected rank ${rank}`);
  }
  return m;
}

function input(s: ort.InferenceSession, path: string, name: string, types: readonly string[], rank?: number): TensorMeta {
  return check(find(s.inputMetadata, s.inputNames, path, name, 'input'), path, 'input', types, rank);
}

function output(s: ort.InferenceSession, path: string, name: string, types: readonly string[], rank?: number): TensorMeta {
  return check(find(s.outputMetadata, s.outputNames, path, name, 'output'), path, 'output', types, rank);
}
