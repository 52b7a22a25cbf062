/**
 * Which file stops the CUDA provider from loading. ONNX Runtime says only "Failed to load shared
 * library", the same words whether its CUDA provider, CUDA itself or cuDNN is missing; the dynamic
 * loader (ldd) can name the one that is.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';

export const CUDA_PROVIDER_LIBRARY = platform() === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';

/** The folder onnxruntime-node loads its native libraries (and the CUDA provider) from. */
export function ortBinDir(): string {
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', platform(), arch());
}

/** The libraries `file` needs that the loader does not find; undefined where ldd cannot tell. */
export function unresolvedLibraries(file: string): string[] | undefined {
  let out: string;
  try {
    out = execFileSync('ldd', [file], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  return [...out.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
}

/** One clause naming the missing file, or undefined when every file is there (then it is not a file). */
export function missingCudaFile(): string | undefined {
  const dir = ortBinDir();
  const provider = join(dir, CUDA_PROVIDER_LIBRARY);
  if (!existsSync(provider)) return `${CUDA_PROVIDER_LIBRARY} is not in ${dir}`;
  const missing = unresolvedLibraries(provider);
  if (missing?.length) return `${CUDA_PROVIDER_LIBRARY} needs ${missing.join(', ')}, not found on the library path`;
  return undefined;
}
