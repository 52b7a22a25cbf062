/**
 * PNG info without VS Code (unit tests run it): a PNG's A1111 `parameters` read with the protocol's one
 * reader (the same as `diffusion-studio info`), and what "Re-run with these parameters" puts into the
 * side panel. Values from a file are input: each is checked against the settings' own bounds
 * (checkSetting, the webview validator's), and one that does not fit is named and left out.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { findSampler, parseParameters, readTextChunks, type ParsedParameters } from '../../protocol';
import type { GuidanceSettings, ModelChoice } from '../../../webview-ui/shared/messages';
import { checkSetting } from '../../../webview-ui/shared/validate';

export interface PngInfo extends ParsedParameters {
  file: string;
  /** The `parameters` text as stored. */
  text: string;
}

/** The parameters of `file`; an Error naming the file and the problem when it has none. */
export function readPngInfo(file: string): PngInfo {
  const name = path.basename(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  let chunks: Record<string, string>;
  try {
    chunks = readTextChunks(bytes);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
  const text = chunks.parameters;
  if (text === undefined) throw new Error(`${name} has no "parameters" text chunk: it was not written by a generator that records its parameters (A1111 style)`);
  return { file, text, ...parseParameters(text) };
}

/** What "Re-run with these parameters" fills in: the prompt, the settings, and what it had to leave out. */
export interface Fill {
  prompt: string;
  settings: Partial<GuidanceSettings>;
  /** One line per value not applied, naming the field and why (e.g. a model this machine does not have). */
  skipped: string[];
}

export function fillFromInfo(info: ParsedParameters, models: readonly ModelChoice[]): Fill {
  const f = info.fields;
  const settings: Partial<GuidanceSettings> = { negativePrompt: info.negativePrompt };
  const skipped: string[] = [];
  const put = <K extends keyof GuidanceSettings>(field: string, key: K, raw: string | number | undefined) => {
    if (raw === undefined) return;
    const r = checkSetting(key, raw);
    if ('error' in r) skipped.push(`${field} ${JSON.stringify(raw)}: ${r.error}`);
    else settings[key] = r.value as GuidanceSettings[K];
  };
  put('Steps', 'steps', f.Steps);
  put('CFG scale', 'guidanceScale', f['CFG scale']);
  if (f.Seed !== undefined) {
    put('Seed', 'seed', f.Seed);
    if (settings.seed !== undefined) settings.seedMode = 'fixed';
  }
  if (f.Sampler !== undefined) {
    // Newer A1111 writes the noise schedule apart: "Sampler: DPM++ 2M, Schedule type: Karras".
    const schedule = f['Schedule type'];
    const row = (schedule && !/^automatic$/i.test(schedule) && findSampler(`${f.Sampler} ${schedule}`)) || findSampler(f.Sampler);
    if (row) settings.scheduler = row.id;
    else skipped.push(`Sampler "${f.Sampler}${schedule ? ` (${schedule})` : ''}": not a sampler this extension has`);
  }
  if (f.Size !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(f.Size.trim());
    if (!m) skipped.push(`Size "${f.Size}": not WIDTHxHEIGHT`);
    else if (m[1] !== m[2]) skipped.push(`Size ${f.Size}: the side panel sets square sizes only`);
    else put('Size', 'size', m[1]);
  }
  if (f.Model !== undefined) {
    const model = models.find((m) => m.id === f.Model) ?? models.find((m) => m.name === f.Model || path.basename(m.id) === f.Model);
    if (model) settings.model = model.id;
    else skipped.push(`Model "${f.Model}": not in the model list (add its folder to diffusionStudio.modelsFolders)`);
  }
  return { prompt: info.prompt, settings, skipped };
}
