/**
 * The palette and menu commands. Each handler is small and delegates to the services; errors become
 * one clear notification. Handlers return what they produced so tests can check it.
 */
import * as vscode from 'vscode';
import type { Capabilities } from '../protocol';
import { readSettings, writeSetting } from './config';
import type { JobService, ResultItem } from './jobs';
import { modelLabel, type ModelCatalog } from './models';
import { pickImage } from './pickImage';
import type { PromptHistory } from './prompts';
import type { ResultsPanel } from './results/resultsPanel';
import { jobDescription, jobLabel } from './queue/queueRows';
import { setRemoteSecret } from './remoteSecret';
import { generateFromSelection } from './selection/generateFromSelection';
import type { SidecarManager } from './sidecar';
import { varyImage, type VaryArgs } from './vary/varyImage';
import { xyPlot, type XYPlotArgs } from './xyplot/xyPlot';
import { DISTILL_TASK_TYPE, type DistillTaskProvider } from './tasks/distillTask';

export interface Services {
  extensionUri: vscode.Uri;
  secrets: vscode.SecretStorage;
  sidecar: SidecarManager;
  jobs: JobService;
  models: ModelCatalog;
  prompts: PromptHistory;
  results: ResultsPanel;
  distill: DistillTaskProvider;
  log: vscode.OutputChannel;
}

export function registerCommands(s: Services): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(`diffusionStudio.${id}`, fn);
  return [
    reg('generate', (arg?: string | { prompt?: string }) => generate(s, typeof arg === 'string' ? arg : arg?.prompt)),
    reg('generateFromSelection', () => generateFromSelection(s.jobs, (besides) => s.results.show(true, besides)).then(undefined, report)),
    reg('editImage', (uri?: vscode.Uri, prompt?: string) => editImage(s, uri, prompt)),
    reg('editWithPrompt', (uri?: vscode.Uri, prompt?: string) => editImage(s, uri, typeof prompt === 'string' ? prompt : undefined)),
    reg('varyImage', (uri?: vscode.Uri, args?: VaryArgs) => varyImage(s.jobs, () => s.results.show(), uri, typeof args === 'object' ? args : {}).then(undefined, report)),
    reg('xyPlot', (args?: XYPlotArgs) => xyPlot({ ...s, showResults: () => s.results.show() }, typeof args === 'object' ? args : {}).then(undefined, report)),
    reg('runDistillation', () => runDistillation(s)),
    reg('openResults', () => s.results.show(false)),
    reg('selectModel', () => selectModel(s)),
    reg('cancelJob', () => cancelJob(s)),
    reg('showRuntimeInfo', () => showRuntimeInfo(s)),
    reg('setupGpu', () => setupGpu(s)),
    reg('restartSidecar', () => s.sidecar.restart().then(() => undefined, report)),
    reg('showLog', () => s.log.show()),
    reg('setSidecarSecret', () => setRemoteSecret(s.secrets)),
  ];
}

function report(err: unknown): undefined {
  const e = err as Error & { code?: string };
  if (e.code === 'cancelled') void vscode.window.showInformationMessage('Diffusion Studio: job cancelled.');
  else if (e.code === 'not_available') void vscode.window.showWarningMessage(`Diffusion Studio: ${e.message} (this sidecar build cannot run it yet).`);
  else void vscode.window.showErrorMessage(`Diffusion Studio: ${e.message}`);
  return undefined;
}

export async function generate(s: Services, prompt?: string): Promise<ResultItem[] | undefined> {
  prompt ??= await s.prompts.ask('Diffusion Studio: Generate Image', 'Describe the image (Enter to generate)');
  if (!prompt) return undefined;
  await s.prompts.remember(prompt);
  s.results.show();
  return s.jobs.generate({ prompt }).then(undefined, report);
}

export async function editImage(s: Services, uri?: vscode.Uri, prompt?: string): Promise<ResultItem[] | undefined> {
  const image = await pickImage(uri, 'Edit with Prompt');
  if (!image) return undefined;
  prompt ??= await vscode.window.showInputBox({
    title: `Edit ${vscode.workspace.asRelativePath(image)} with a prompt`,
    prompt: 'Describe the edited image (Imagic). One result per eta is shown side by side.',
    placeHolder: 'e.g. a cat face wearing sunglasses',
    ignoreFocusOut: true,
  });
  if (!prompt) return undefined;
  await s.prompts.remember(prompt);
  s.results.show();
  return s.jobs.edit(image.fsPath, prompt).then(undefined, report);
}

async function runDistillation(s: Services): Promise<void> {
  const mode = await vscode.window.showQuickPick(
    [
      { label: 'guided', detail: 'Meng et al. 2023: fold guidance into one UNet evaluation, then halve the steps' },
      { label: 'progressive', detail: 'Salimans & Ho 2022: halve the sampling steps round after round' },
    ],
    { title: 'Distillation method' },
  );
  if (!mode) return;
  const teacher = await pickModel(s, 'Teacher model');
  if (!teacher) return;
  const steps = await vscode.window.showQuickPick(['8', '4', '2', '1'], { title: 'Steps of the student' });
  if (!steps) return;
  const task = s.distill.makeTask({ type: DISTILL_TASK_TYPE, mode: mode.label as 'guided' | 'progressive', teacher, targetSteps: Number(steps) });
  await vscode.tasks.executeTask(task);
}

/**
 * A model picker that opens at once, busy while the list loads (the first list may wait for the sidecar
 * to start): the user can type a filter straight away, and a slow start never looks like a dead key.
 */
async function pickModel(s: Services, title: string): Promise<string | undefined> {
  const current = readSettings().model;
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { id: string }>();
  qp.title = title;
  qp.busy = true;
  qp.matchOnDetail = true;
  const chosen = new Promise<string | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]?.id));
    qp.onDidHide(() => resolve(undefined));
  });
  qp.show();
  try {
    const models = await s.models.list();
    qp.items = models.map((m) => ({ label: modelLabel(m), description: m.id === current ? 'current' : undefined, id: m.id, detail: m.id }));
    if (!models.length) qp.placeholder = 'No models found: check diffusionStudio.modelsFolders';
    qp.busy = false;
    return await chosen;
  } finally {
    qp.dispose();
  }
}

async function selectModel(s: Services): Promise<string | undefined> {
  const id = await pickModel(s, 'Model for generation');
  if (id) await writeSetting('model', id);
  return id;
}

async function cancelJob(s: Services): Promise<boolean> {
  if (s.sidecar.state !== 'ready') {
    void vscode.window.showInformationMessage('Diffusion Studio: no job is running.');
    return false;
  }
  const client = await s.sidecar.ensure();
  const { jobs } = await client.jobStatus();
  const live = jobs.filter((j) => j.state === 'running' || j.state === 'queued');
  if (live.length === 0) {
    void vscode.window.showInformationMessage('Diffusion Studio: no job is running.');
    return false;
  }
  const pick =
    live.length === 1
      ? live[0]
      : (await vscode.window.showQuickPick(live.map((j) => ({ label: jobLabel(j), description: jobDescription(j), job: j })), { title: 'Cancel which job?' }))?.job;
  if (!pick) return false;
  await client.cancel(pick.jobId);
  return true;
}

async function showRuntimeInfo(s: Services): Promise<Capabilities | undefined> {
  try {
    await s.sidecar.ensure();
  } catch (err) {
    return report(err);
  }
  const c = s.sidecar.capabilities!;
  const kinds = Object.entries(c.jobKinds).map(([k, ok]) => `${k} ${ok ? 'yes' : 'no'}`).join(', ');
  const lines = [
    `Execution provider: ${c.executionProvider}${c.providerNote ? ` (${c.providerNote})` : ''}`,
    `Device: ${c.deviceName}`,
    `ONNX Runtime ${c.ortVersion} · sidecar ${c.sidecarVersion} · protocol ${c.protocolVersion} · pid ${c.pid}`,
    `Node ${process.versions.node} · VS Code ${vscode.version}`,
    `Jobs: ${kinds}`,
    `Models: ${c.models.map((m) => m.id).join(', ') || 'none'}`,
  ];
  for (const l of lines) s.log.appendLine(`[runtime] ${l}`);
  void vscode.window.showInformationMessage(`Diffusion Studio runtime`, { modal: false, detail: lines.join('\n') }, 'Show Log').then((p) => p && s.log.show());
  return c;
}

/** Runs `diffusion-studio gpu-setup` in a terminal so the user sees exactly what it does. */
async function setupGpu(s: Services): Promise<void> {
  const cli = vscode.Uri.joinPath(s.extensionUri, 'dist', 'cli.js').fsPath;
  const node = readSettings().nodePath || process.execPath;
  const task = new vscode.Task(
    { type: 'diffusion-gpu-setup' },
    vscode.TaskScope.Workspace,
    'Set Up GPU Runtime',
    'Diffusion Studio',
    new vscode.ProcessExecution(node, [cli, 'gpu-setup'], { env: { ELECTRON_RUN_AS_NODE: '1' } }),
  );
  const execution = await vscode.tasks.executeTask(task);
  const ended = vscode.tasks.onDidEndTaskProcess(async (e) => {
    if (e.execution !== execution) return;
    ended.dispose();
    if (e.exitCode !== 0) return;
    const pick = await vscode.window.showInformationMessage('Diffusion Studio: GPU runtime set up. Restart the sidecar to use it?', 'Restart');
    if (pick) await s.sidecar.restart().then(undefined, report);
  });
}
