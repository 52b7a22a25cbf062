/**
 * The models a sidecar offers: the embedded ones shipped in the extension's models/ folder plus any
 * folders given with --models. A request names a model by id (folder name) or by path; both resolve
 * here to an absolute folder, checked for the files its job needs before the job is queued.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { SidecarError, type JobKind, type ModelInfo } from '../../protocol';

/** The files each kind of job needs inside a model folder (diffusers ONNX layout). */
const REQUIRED: Record<JobKind, string[]> = {
  generate: ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx'],
  edit: ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx'],
  distill: ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx'],
};

/** The extension's own models/ folder: beside dist/ in a package, at the repository root from source. */
export function embeddedModelsDir(): string | undefined {
  const candidates = [join(__dirname, '..', 'models'), join(__dirname, '..', '..', '..', 'models')];
  return candidates.find((d) => existsSync(d) && statSync(d).isDirectory());
}

function isModelFolder(dir: string): boolean {
  return existsSync(join(dir, 'model_index.json')) || existsSync(join(dir, 'unet', 'model.onnx'));
}

export class ModelRegistry {
  constructor(
    private readonly embeddedDir: string | undefined,
    private readonly userDirs: string[] = [],
  ) {}

  list(): ModelInfo[] {
    const out: ModelInfo[] = [];
    const add = (dir: string, source: ModelInfo['source']) => {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
      const folders = isModelFolder(dir) ? [dir] : readdirSync(dir).map((n) => join(dir, n)).filter(isModelFolder);
      for (const f of folders) out.push({ id: basename(f), name: basename(f), path: resolve(f), source });
    };
    if (this.embeddedDir) add(this.embeddedDir, 'embedded');
    for (const d of this.userDirs) add(d, 'user');
    return out;
  }

  /** Id or path -> absolute folder holding what `kind` needs; else model_not_found naming the problem. */
  resolve(model: string, kind: JobKind): string {
    const known = this.list().find((m) => m.id === model);
    const dir = known ? known.path : resolve(model);
    if (!existsSync(dir)) {
      const ids = this.list().map((m) => m.id);
      throw new SidecarError(
        'model_not_found',
        `model "${model}" is neither a known model id (${ids.length ? ids.join(', ') : 'none installed'}) nor an existing folder`,
      );
    }
    if (!statSync(dir).isDirectory()) throw new SidecarError('model_not_found', `model path ${dir} is not a folder`);
    for (const rel of REQUIRED[kind]) {
      const file = join(dir, rel);
      if (!existsSync(file)) throw new SidecarError('model_not_found', `model folder ${dir} is missing ${rel}`);
      if (statSync(file).size === 0) throw new SidecarError('model_invalid', `model file ${file} is empty (0 bytes)`);
    }
    return dir;
  }
}
