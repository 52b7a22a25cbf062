/**
 * Execution-provider choice. CUDA is used when its provider libraries load: we open a one-node session
 * with executionProviders ['cuda'] and run it once; any failure falls back to the CPU and the reason is
 * kept (reported in hello as `providerNote` and printed to stderr at start). The choice is made once,
 * at start, by the main thread; worker threads receive the resulting provider list.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { Graph } from '../graph/graph';
import { toOnnx } from '../graph/onnx';

export type DeviceRequest = 'auto' | 'cpu' | 'cuda';
export type ProviderName = 'cpu' | 'cuda';

export interface ProviderChoice {
  provider: ProviderName;
  /** Pass to InferenceSession.create({ executionProviders }). */
  executionProviders: string[];
  deviceName: string;
  ortVersion: string;
  /** Why this provider (set when the request could not be met or auto fell back). */
  note?: string;
}

export function ortVersion(): string {
  return ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown';
}

/** Chooses the provider for `request`; never throws (CUDA failures fall back to CPU with a note). */
export async function chooseProvider(request: DeviceRequest): Promise<ProviderChoice> {
  const cpu = (note?: string): ProviderChoice => ({
    provider: 'cpu',
    executionProviders: ['cpu'],
    deviceName: cpuName(),
    ortVersion: ortVersion(),
    ...(note ? { note } : {}),
  });
  if (request === 'cpu') return cpu();
  const failure = await probeCuda();
  if (failure === undefined) {
    return { provider: 'cuda', executionProviders: ['cuda', 'cpu'], deviceName: gpuName(), ortVersion: ortVersion() };
  }
  const why = `the CUDA execution provider did not load (${failure}); running on the CPU.`;
  const hint = ' Run `npx diffusion-studio gpu-setup` to install the CUDA provider libraries.';
  if (request === 'cuda') return cpu(`CUDA was requested but ${why}${hint}`);
  return cpu(isMissingLibrary(failure) ? `No CUDA provider libraries installed; running on the CPU.${hint}` : `CUDA unavailable: ${why}`);
}

/** Returns undefined when a CUDA session runs, else the error message. */
export async function probeCuda(): Promise<string | undefined> {
  // ORT's native logger would print the same failure three times with a stack; its level is fixed when
  // the first session opens (process-wide), so errors surface as exceptions and our own messages only.
  ort.env.logLevel = 'fatal';
  try {
    const session = await ort.InferenceSession.create(identityModel(), { executionProviders: ['cuda'] });
    try {
      const x = new ort.Tensor('float32', new Float32Array([1]), [1]);
      await session.run({ x });
    } finally {
      await session.release();
    }
    return undefined;
  } catch (err) {
    return firstLine(err instanceof Error ? err.message : String(err));
  }
}

function isMissingLibrary(message: string): boolean {
  return /load|shared library|cannot open|No such file|not (?:found|supported)/i.test(message);
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

function cpuName(): string {
  const list = cpus();
  const model = list[0]?.model?.trim() || 'unknown CPU';
  return `CPU: ${model} (${list.length} threads)`;
}

function gpuName(): string {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const first = out.split('\n')[0]?.trim();
    return first ? `GPU: ${first}` : 'GPU: CUDA device 0';
  } catch {
    return 'GPU: CUDA device 0 (nvidia-smi not available)';
  }
}

/** The probe: a one-node model, y = Identity(x) with x: float[1], built with the graph builder. */
export function identityModel(): Uint8Array {
  const g = new Graph({ opset: 13 });
  g.output(g.input('x', 'float32', [1]), 'y');
  return toOnnx(g);
}
