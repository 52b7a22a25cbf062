/**
 * The model list: what the sidecar reports (embedded and its own user models) plus the model folders
 * found in `diffusionStudio.modelsFolders` and the distillation folder, so a student produced by a
 * distillation task appears as soon as it is written.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelInfo } from '../protocol';
import type { ModelChoice } from '../../webview-ui/shared/messages';
import { distillFolder, readSettings, resolveFolder } from './config';
import type { SidecarManager } from './sidecar';

export class ModelCatalog implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private cache?: ModelChoice[];
  /** The last list was made without the sidecar's models (it could not be started or reached). */
  private missingSidecar = false;
  private readonly onState: vscode.Disposable;

  constructor(private readonly sidecar: SidecarManager) {
    // Once the sidecar is up, a list made without it is out of date: views asking again get its models.
    this.onState = sidecar.onDidChangeState((state) => {
      if (state === 'ready' && this.missingSidecar) this.invalidate();
    });
  }

  /** Call after something may have added or removed a model (a finished distillation, a setting). */
  invalidate(): void {
    this.cache = undefined;
    this.changed.fire();
  }

  async list(): Promise<ModelChoice[]> {
    if (this.cache) return this.cache;
    let reached = true;
    const infos = await this.sidecar
      .ensure()
      .then((c) => c.listModels())
      .then((r) => r.models)
      .catch(() => {
        reached = false;
        return [] as ModelInfo[];
      });
    const s = readSettings();
    const folders = [...s.modelsFolders.map(resolveFolder), distillFolder(s)];
    const scanned = (await Promise.all(folders.map((f) => scanFolder(f)))).flat();
    // A folder the sidecar already lists (it was given the same --models folders) appears once.
    const known = new Set(infos.flatMap((m) => [m.id, path.resolve(m.path)]));
    const all = infos.map(toChoice);
    for (const m of scanned) {
      if (known.has(m.id)) continue;
      known.add(m.id);
      all.push(m);
    }
    // A list without the sidecar's models is shown but not kept: the next request asks the sidecar again.
    this.missingSidecar = !reached;
    if (reached) this.cache = all;
    return all;
  }

  dispose(): void {
    this.onState.dispose();
    this.changed.dispose();
  }
}

function toChoice(m: ModelInfo): ModelChoice {
  return { id: m.id, name: m.name, distilledSteps: m.distilledSteps, guidanceRange: m.guidanceRange, resolution: m.resolution };
}

/**
 * A model folder is one holding model_index.json. Look at the folder, its children and grandchildren:
 * a distillation run writes one model per round (<run>/guided-8, <run>/guided-4 ...).
 */
async function scanFolder(folder: string, depth = 2, prefix = ''): Promise<ModelChoice[]> {
  if (await isModel(folder)) return [await describe(folder, prefix || path.basename(folder))];
  if (depth === 0) return [];
  const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
  const found = await Promise.all(
    entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => scanFolder(path.join(folder, e.name), depth - 1, prefix ? `${prefix}/${e.name}` : e.name)),
  );
  return found.flat();
}

const isModel = (p: string) =>
  fs.access(path.join(p, 'model_index.json')).then(
    () => true,
    () => false,
  );

/** Reads what a student says about itself, from whichever metadata file the distillation wrote. */
async function describe(folder: string, name: string): Promise<ModelChoice> {
  const choice: ModelChoice = { id: folder, name };
  for (const file of ['distill.json', 'distillation.json', 'model_index.json']) {
    const meta = await fs
      .readFile(path.join(folder, file), 'utf8')
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => undefined);
    if (!meta) continue;
    const src = (meta.distillation as Record<string, unknown> | undefined) ?? meta;
    const steps = src.distilledSteps ?? src.studentSteps ?? src.steps;
    if (choice.distilledSteps === undefined && typeof steps === 'number') choice.distilledSteps = steps;
    const range = src.guidanceRange ?? src.guidance_range;
    if (!choice.guidanceRange && Array.isArray(range) && range.length === 2) choice.guidanceRange = [Number(range[0]), Number(range[1])];
  }
  return choice;
}

/** Label for quick picks and the side panel. */
export function modelLabel(m: ModelChoice): string {
  const bits = [m.name];
  if (m.distilledSteps) bits.push(`${m.distilledSteps}-step student`);
  if (m.guidanceRange) bits.push(`guidance ${m.guidanceRange[0]}-${m.guidanceRange[1]} as input`);
  return bits.join(' · ');
}
