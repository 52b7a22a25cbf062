/**
 * `diffusion-studio gpu-setup`: the opt-in install of ONNX Runtime's CUDA execution provider. The
 * CUDA provider libraries are too large for npm, so onnxruntime-node's own installer
 * (script/install.js, run with ONNXRUNTIME_NODE_INSTALL=cuda12) fetches them from NuGet into the
 * package's bin folder. We run that installer, then check the result by opening a CUDA session, and
 * say exactly what happened: files installed, provider loads or why not, or why the install failed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { ortBinDir } from '../../runtime/cuda-libraries';
import { ortVersion, probeCuda } from '../../runtime/providers';
import { UserError } from '../errors';

const PROVIDER_FILES = [
  'libonnxruntime_providers_cuda.so',
  'libonnxruntime_providers_shared.so',
  'libonnxruntime_providers_tensorrt.so',
];

export function register(program: Command): void {
  program
    .command('gpu-setup')
    .description("install ONNX Runtime's CUDA execution provider (CUDA 12) through onnxruntime-node's installer")
    .option('--dry-run', 'say what would be done, change nothing')
    .option('--timeout <seconds>', 'give up the download after this long', '900')
    .action((opts: { dryRun?: boolean; timeout: string }) => gpuSetup(opts));
}

async function gpuSetup(opts: { dryRun?: boolean; timeout: string }): Promise<void> {
  const target = `${platform()}/${arch()}`;
  if (target !== 'linux/x64') {
    throw new UserError(
      `onnxruntime-node ${ortVersion()} offers a downloadable CUDA provider only for linux/x64; this machine is ${target}`,
    );
  }
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  const binDir = ortBinDir();
  const script = join(pkg, 'script', 'install.js');
  const say = (s: string) => console.log(`gpu-setup: ${s}`);
  say(`onnxruntime-node ${ortVersion()} at ${pkg}`);
  if (installed(binDir)) {
    say(`the CUDA provider libraries are already in ${binDir}`);
  } else if (opts.dryRun) {
    say(`would run: ONNXRUNTIME_NODE_INSTALL=cuda12 ${process.execPath} ${script}`);
    say(`which downloads ${PROVIDER_FILES.join(', ')} from api.nuget.org into ${binDir}`);
    return;
  } else {
    if (!existsSync(script)) throw new UserError(`onnxruntime-node's installer is missing (${script}); reinstall onnxruntime-node`);
    say(`running onnxruntime-node's installer: ONNXRUNTIME_NODE_INSTALL=cuda12 node ${script}`);
    const run = await runInstaller(script, pkg, Number(opts.timeout) * 1000);
    if (run.code !== 0 || !installed(binDir)) throw new UserError(explainFailure(run, binDir));
    say(`installed ${PROVIDER_FILES.join(', ')} into ${binDir}`);
  }
  const failure = await probeCuda();
  if (failure === undefined) {
    say('the CUDA execution provider loads and runs: `diffusion-studio serve` will use the GPU (--device auto or cuda)');
    return;
  }
  throw new UserError(
    `the CUDA provider libraries are installed but a CUDA session does not start: ${failure}. ` +
      'They need an NVIDIA driver, the CUDA 12 runtime (libcudart.so.12, cuBLAS) and cuDNN 9 on the library path.',
    3,
  );
}

function installed(binDir: string): boolean {
  return PROVIDER_FILES.every((f) => existsSync(join(binDir, f)));
}

interface InstallerRun {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/**
 * The installer's environment. Under `npm run`/`npx`, npm exports npm_config_local_prefix and
 * npm_package_json, and the installer takes those for "a local install of onnxruntime-node itself" and
 * exits 0 without installing anything; the project's .npmrc also exports the `skip` flag. Strip them.
 */
function installerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' };
  delete env.npm_config_local_prefix;
  delete env.npm_package_json;
  delete env.npm_config_onnxruntime_node_install;
  return env;
}

function runInstaller(script: string, cwd: string, timeoutMs: number): Promise<InstallerRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      cwd,
      env: installerEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d: Buffer) => {
      process.stderr.write(d);
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => keep(Buffer.from(String(err))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/** One sentence saying why the installer failed, from what it printed. */
function explainFailure(run: InstallerRun, binDir: string): string {
  const head = 'the CUDA provider was NOT installed: ';
  if (run.timedOut) return `${head}the download did not finish in time (try again with a larger --timeout)`;
  const net = /(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\S*\s*(\S+)?/.exec(run.output);
  if (net) {
    return (
      `${head}no network route to the NuGet feed (${net[1]}${net[2] ? ` ${net[2]}` : ''}). ` +
      'The installer downloads Microsoft.ML.OnnxRuntime.Gpu.Linux from api.nuget.org; behind a proxy set ' +
      `GLOBAL_AGENT_HTTPS_PROXY=<proxy url> and run it again, or copy ${PROVIDER_FILES.join(', ')} into ${binDir} by hand`
    );
  }
  const lastError = run.output.split('\n').find((l) => /Error/.test(l))?.trim();
  return `${head}the installer exited with code ${run.code}${lastError ? `: ${lastError}` : ''}`;
}
