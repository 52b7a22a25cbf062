/**
 * Model folders in the diffusers ONNX layout:
 *
 *   model_index.json                 required; may hold "base": "<relative dir>" (a distilled student)
 *   text_encoder/model.onnx          input_ids -> last_hidden_state
 *   unet/model.onnx [+ model.onnx_data, config.json]
 *   vae_decoder/model.onnx [+ config.json with scaling_factor]
 *   vae_encoder/model.onnx           optional: only image-to-image needs it
 *   tokenizer/                       tokenizer.json, or vocab.json + merges.txt
 *   scheduler/scheduler_config.json
 *   distill.json                     optional: what a student was distilled for
 *
 * A student folder may hold only unet/ (and its own scheduler/ or tokenizer/ if they differ): every
 * component it lacks comes from its base. This module checks files and JSON only; tensor names, shapes
 * and dtypes are checked when the sessions open (pipelines/model-sessions.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { parseSchedulerConfig, type SchedulerConfig } from '../schedulers/config';
import { ModelFolderError } from './errors';
import { stampFiles } from './file-cache';
import { componentFiles, modelFileExists, readModelJson } from './model-file';

/** SD 1.x/2.x latent scale (the VAE's `scaling_factor`) when no config says otherwise. */
export const DEFAULT_SCALING_FACTOR = 0.18215;

export interface DistillInfo {
  /** 'guided' (guidance scale is a UNet input) or 'progressive'. */
  kind?: string;
  /** The number of sampling steps the student was distilled for. */
  steps?: number;
  /** The guidance scales a guided student was trained on, [min, max]. */
  guidance_range?: [number, number];
  /** The scheduler the student was distilled with (default ddim). */
  scheduler?: string;
  /** A round's steps: 'scheduler' (as the DDIM scheduler takes them) or 'grid' (absent: grid, older students). */
  trajectory?: string;
  [key: string]: unknown;
}

export interface ModelFolder {
  /** The folder's name (its basename), shown in `models` and written as `Model:` into PNGs. */
  readonly name: string;
  /** Absolute path of the folder itself. */
  readonly dir: string;
  /** The folder this student takes its other components from, if any. */
  readonly base: ModelFolder | null;
  /** Absolute paths of the component files, resolved through `base`. */
  readonly files: {
    readonly textEncoder: string;
    readonly unet: string;
    readonly vaeDecoder: string;
    readonly vaeEncoder: string | null;
    readonly tokenizerDir: string;
    readonly schedulerConfig: string;
  };
  readonly schedulerConfig: SchedulerConfig;
  /** Latents are multiplied by this after encoding and divided by it before decoding. */
  readonly scalingFactor: number;
  /** Pixels per latent cell (8 for SD), from the VAE config's block_out_channels, or null if unknown. */
  readonly vaeScaleFactor: number | null;
  /** The UNet's native latent size (unet/config.json sample_size), or null if unknown. */
  readonly sampleSize: number | null;
  readonly distill: DistillInfo | null;
  /** model_index.json's "defaults" (sampling settings the model asks for), or null. */
  readonly indexDefaults: Record<string, unknown> | null;
}

/** What a model folder may ask of an Imagic edit: model_index.json "defaults"."edit" (checked by pipelines/imagic/settings.ts). */
export interface EditDefaults {
  guidance_scale?: number;
  embedding_steps?: number;
  finetune_steps?: number;
  /** Noise draws per optimisation step. */
  train_batch?: number;
}

/** Every path whose presence or content decides what readModelFolder returns for a folder. */
const CONSULTED = [
  'model_index.json', 'text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx',
  'tokenizer', 'scheduler/scheduler_config.json', 'vae_decoder/config.json', 'vae/config.json', 'unet/config.json', 'distill.json',
];

const folderCache = new Map<string, { stamp: string; folder: ModelFolder }>();

/**
 * The consulted paths' sizes and times, and the UNet's weights files whatever they are called
 * (componentFiles: model.onnx_data, weights.pb, one file per tensor), on which modelHash rides.
 */
function folderStamp(abs: string): string {
  const paths = CONSULTED.map((rel) => {
    try {
      const st = statSync(join(abs, rel), { throwIfNoEntry: false });
      return st ? `${st.size}:${st.mtimeMs}` : '-';
    } catch {
      return '!'; // unreadable (e.g. a name too long): the read below reports it
    }
  }).join('|');
  try {
    return `${paths}|${stampFiles(componentFiles(join(abs, 'unet', 'model.onnx'))).stamp}`;
  } catch {
    return `${paths}|!`;
  }
}

/**
 * The folder's description. Generation resolves its model on every request, so the result is kept and
 * reused while none of the files it was read from has changed (size and modification time of each, and
 * the same for its base): a few stat calls instead of reading and parsing every JSON file again.
 */
export function loadModelFolder(dir: string, seen: string[] = []): ModelFolder {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ModelFolderError(abs, 'is not a folder');
  if (seen.includes(abs)) throw new ModelFolderError(join(abs, 'model_index.json'), `"base" loops back to ${abs}`);
  const stamp = folderStamp(abs);
  const hit = folderCache.get(abs);
  if (hit && hit.stamp === stamp && (!hit.folder.base || loadModelFolder(hit.folder.base.dir, [...seen, abs]) === hit.folder.base)) return hit.folder;
  const folder = readModelFolder(abs, seen);
  folderCache.set(abs, { stamp, folder });
  return folder;
}

function readModelFolder(abs: string, seen: string[]): ModelFolder {
  const index = readJsonObject(join(abs, 'model_index.json'));
  // "base" is relative to this folder (a student and its teacher move together); it may reach any other
  // MODEL folder, since students live wherever they were distilled, and what it names is checked like
  // any model folder (model_index.json, component files), so it cannot pull in an arbitrary file.
  if (index.base !== undefined && (typeof index.base !== 'string' || index.base === '' || isAbsolute(index.base))) {
    throw new ModelFolderError(join(abs, 'model_index.json'), `"base" must be a relative folder path, got ${JSON.stringify(index.base)}`);
  }
  const base = typeof index.base === 'string' ? loadModelFolder(resolve(abs, index.base), [...seen, abs]) : null;
  const own = (rel: string) => (modelFileExists(join(abs, rel)) ? join(abs, rel) : null);
  const pick = (rel: string, fromBase: string | null | undefined): string => {
    const p = own(rel) ?? fromBase;
    if (!p) throw new ModelFolderError(join(abs, rel), 'is missing' + (base ? ` (and the base ${base.dir} has none)` : ''));
    return p;
  };
  const files = {
    textEncoder: pick('text_encoder/model.onnx', base?.files.textEncoder),
    unet: pick('unet/model.onnx', base?.files.unet),
    vaeDecoder: pick('vae_decoder/model.onnx', base?.files.vaeDecoder),
    vaeEncoder: own('vae_encoder/model.onnx') ?? base?.files.vaeEncoder ?? null,
    tokenizerDir: pick('tokenizer', base?.files.tokenizerDir),
    schedulerConfig: pick('scheduler/scheduler_config.json', base?.files.schedulerConfig),
  };
  const vaeConfig = firstJson([join(abs, 'vae_decoder/config.json'), join(abs, 'vae/config.json')]);
  const unetConfig = firstJson([join(abs, 'unet/config.json')]);
  const distillPath = join(abs, 'distill.json');
  return {
    name: basename(abs),
    dir: abs,
    base,
    files,
    schedulerConfig: parseSchedulerConfig(readJsonObject(files.schedulerConfig), files.schedulerConfig),
    scalingFactor: positive(vaeConfig?.scaling_factor) ?? base?.scalingFactor ?? DEFAULT_SCALING_FACTOR,
    vaeScaleFactor: vaeScale(vaeConfig) ?? base?.vaeScaleFactor ?? null,
    sampleSize: positive(unetConfig?.sample_size) ?? base?.sampleSize ?? null,
    distill: modelFileExists(distillPath) ? (readJsonObject(distillPath) as DistillInfo) : null,
    indexDefaults: typeof index.defaults === 'object' && index.defaults !== null && !Array.isArray(index.defaults) ? (index.defaults as Record<string, unknown>) : null,
  };
}

/** A model folder's JSON file as an object (io/model-file.ts says what is wrong otherwise). */
export const readJsonObject = readModelJson;

function firstJson(paths: string[]): Record<string, unknown> | null {
  const p = paths.find((x) => modelFileExists(x));
  return p ? readJsonObject(p) : null;
}

function positive(v: unknown): number | null {
  return typeof v === 'number' && v > 0 ? v : null;
}

/** diffusers: vae_scale_factor = 2 ** (len(block_out_channels) - 1). */
function vaeScale(config: Record<string, unknown> | null): number | null {
  const blocks = config?.block_out_channels;
  return Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : null;
}

const hashCache = new Map<string, string>();

/**
 * The A1111-style short model hash: the first 10 hex digits of SHA-256 over the UNet's files (its graph
 * and its weights, whatever they are called: componentFiles), the part that makes a model what it is.
 * Cached per file size and modification time.
 */
export async function modelHash(folder: ModelFolder): Promise<string> {
  // A folder description is replaced when its UNet files change (loadModelFolder), so its hash can ride on it.
  const known = folderHashes.get(folder);
  if (known) return known;
  const hex = await hashUnet(folder);
  folderHashes.set(folder, hex);
  return hex;
}

const folderHashes = new WeakMap<ModelFolder, string>();

async function hashUnet(folder: ModelFolder): Promise<string> {
  const parts = componentFiles(folder.files.unet);
  const key = stampFiles(parts).stamp;
  const cached = hashCache.get(key);
  if (cached) return cached;
  const h = createHash('sha256');
  for (const p of parts) {
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  }
  const hex = h.digest('hex').slice(0, 10);
  hashCache.set(key, hex);
  return hex;
}
