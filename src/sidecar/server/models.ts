/**
 * The models a sidecar offers, found by the same discovery the pipelines use (io/model-discovery: the
 * embedded models/ folder, --models folders, $DIFFUSION_STUDIO_MODELS). A request names a model by
 * name or by folder; both resolve here to an absolute folder, checked for the files its job needs
 * (through a student's `base`) before the job is queued, so a missing file fails at once.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SidecarError, type JobKind, type ModelInfo } from '../../protocol';
import { discoverModels, modelRoots, resolveModel } from '../io/model-discovery';
import type { ModelFolder } from '../io/model-folder';
import { toSidecarError } from '../jobs/errors';

export class ModelRegistry {
  /**
   * Requests name the same few models again and again: (model, kind) -> the folder and the files its
   * job needs, as last resolved. A hit is re-checked by a stat of those files only (3-4 instead of the
   * ~30 a full resolve makes for a student and its base, 0.5-1 ms on a loaded machine); anything missing
   * resolves in full again, so the error is the same. The worker checks the folder in full anyway.
   */
  private readonly recent = new Map<string, { dir: string; files: string[] }>();

  constructor(private readonly userDirs: string[] = []) {}

  get roots(): string[] {
    return modelRoots(this.userDirs);
  }

  list(): ModelInfo[] {
    const embedded = this.roots[0];
    return discoverModels(this.roots)
      .filter((m) => m.folder)
      .map((m) => info(m.folder!, m.dir.startsWith(embedded) ? 'embedded' : 'user'));
  }

  /** Name or path -> absolute folder holding what `kind` needs; else a typed error naming the problem. */
  resolve(model: string, kind: JobKind): string {
    const key = `${kind}\0${model}`;
    const hit = this.recent.get(key);
    if (hit && hit.files.every(usable)) return hit.dir;
    this.recent.delete(key);
    const resolved = this.resolveFully(model, kind);
    if (this.recent.size >= 64) this.recent.clear(); // a bound, not an LRU: 64 models in use is unusual
    this.recent.set(key, resolved);
    return resolved.dir;
  }

  private resolveFully(model: string, kind: JobKind): { dir: string; files: string[] } {
    let folder: ModelFolder;
    try {
      folder = resolveModel(model, this.roots);
    } catch (err) {
      throw toSidecarError(err);
    }
    const f = folder.files;
    const needed = [f.textEncoder, f.unet, f.vaeDecoder, ...(kind === 'edit' ? [f.vaeEncoder] : [])];
    for (const file of needed) {
      if (!file) throw new SidecarError('model_not_found', `model ${folder.dir} has no vae_encoder/model.onnx (editing needs it)`);
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st) throw new SidecarError('model_not_found', `model file ${file} is missing`);
      if (st.size === 0) throw new SidecarError('model_invalid', `model file ${file} is empty (0 bytes)`);
    }
    return { dir: folder.dir, files: [join(folder.dir, 'model_index.json'), ...(needed as string[])] };
  }
}

function usable(file: string): boolean {
  const st = statSync(file, { throwIfNoEntry: false });
  return st !== undefined && st.size > 0;
}

function info(folder: ModelFolder, source: ModelInfo['source']): ModelInfo {
  const d = folder.distill;
  return {
    id: folder.name,
    name: folder.name,
    path: folder.dir,
    source,
    ...(folder.sampleSize && folder.vaeScaleFactor ? { resolution: folder.sampleSize * folder.vaeScaleFactor } : {}),
    ...(d?.steps ? { distilledSteps: d.steps } : {}),
    ...(d?.guidance_range ? { guidanceRange: d.guidance_range } : {}),
  };
}
