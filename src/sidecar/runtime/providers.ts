/**
 * Execution-provider choice. CUDA is used when its provider libraries load and compute: we open a
 * one-node session with executionProviders ['cuda'] and run it once. The node is a 3x3 convolution,
 * because CUDA convolutions run through cuDNN (loaded lazily, at the first Conv): an Identity probe
 * passed without cuDNN and the first job failed instead. Any failure falls back to the CPU and the reason is
 * kept (reported in hello as `providerNote` and printed to stderr at start). The choice is made once,
 * at start, by the main thread; worker threads receive the resulting provider list.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { Graph } from '../graph/graph';
import { toOnnx } from '../graph/onnx';
import { missingCudaFile } from './cuda-libraries';

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
  const notInstalled = /^\S+ is not in /.exec(failure) ? failure.split(';')[0] : undefined;
  return cpu(notInstalled ? `No CUDA provider libraries installed (${notInstalled}); running on the CPU.${hint}` : `CUDA unavailable: ${why}`);
}

/** Returns undefined when a CUDA session runs the probe and gets its answer, else what failed. */
export async function probeCuda(): Promise<string | undefined> {
  // ORT's native logger would print the same failure three times with a stack; its level is fixed when
  // the first session opens (process-wide), so errors surface as exceptions and our own messages only.
  ort.env.logLevel = 'fatal';
  let stage = 'opening a CUDA session';
  try {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: ['cuda'] });
    try {
      stage = 'running a 3x3 convolution on CUDA (cuDNN)';
      const y = (await session.run({ x: probeInput() })).y;
      const centre = (y.data as Float32Array)[3 * PROBE_SIDE + 3];
      if (centre !== 9) return `${stage}: computed ${centre} where 9 was expected`;
    } finally {
      await session.release();
    }
    return undefined;
  } catch (err) {
    const message = firstLine(err instanceof Error ? err.message : String(err));
    const file = isMissingLibrary(message) ? missingCudaFile() : undefined;
    return file ? `${file}; ${stage}: ${message}` : `${stage}: ${message}`;
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

const PROBE_SIDE = 8;

/** The probe: y = Conv(x, w) with x: float[1,1,8,8] and w a 3x3 box of ones, zero padding. */
export function probeModel(): Uint8Array {
  const g = new Graph({ opset: 13 });
  const x = g.input('x', 'float32', [1, 1, PROBE_SIDE, PROBE_SIDE]);
  const w = g.constant(new Array(9).fill(1), 'float32', [1, 1, 3, 3]);
  g.output(g.conv(x, w, undefined, { pads: [1, 1, 1, 1] }), 'y');
  return toOnnx(g);
}

function probeInput(): ort.Tensor {
  return new ort.Tensor('float32', new Float32Array(PROBE_SIDE * PROBE_SIDE).fill(1), [1, 1, PROBE_SIDE, PROBE_SIDE]);
}
