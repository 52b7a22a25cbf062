/**
 * Entry point. activate() only wires things: it builds the services and registers commands, views,
 * the task provider and the status bar, every registration into context.subscriptions. Nothing starts
 * the sidecar here: it starts on first need.
 */
import * as vscode from 'vscode';
import { registerCommands, type Services } from './commands';
import { SECTION } from './config';
import { HistoryService } from './history/historyService';
import { searchHistoryCommand } from './history/searchCommand';
import { JobService } from './jobs';
import { ModelCatalog } from './models';
import { registerPngInfoCommands } from './pngInfo/commands';
import { PngInfoPanel } from './pngInfo/pngInfoPanel';
import { PromptHistory } from './prompts';
import { ResultsPanel } from './results/resultsPanel';
import { SettingsViewProvider } from './settingsView';
import { migrateSecretSetting } from './remoteSecret';
import { SidecarManager } from './sidecar';
import type { JobInfo } from '../protocol';
import { QueueView } from './queue/queueView';
import { DistillProgressPanel } from './distillProgress/distillPanel';
import { StatusBar } from './statusBar';
import { DISTILL_TASK_TYPE, DistillTaskProvider } from './tasks/distillTask';

/** What activate() returns (vscode.extensions.getExtension(...).exports): used by tests and tools. */
export interface DiffusionStudioApi {
  sidecar: SidecarManager;
  jobs: JobService;
  models: ModelCatalog;
  results: ResultsPanel;
  distill: DistillTaskProvider;
  history: HistoryService;
  queue: QueueView;
}

let services: Services | undefined;

export function activate(context: vscode.ExtensionContext): DiffusionStudioApi {
  const sub = (d: vscode.Disposable) => context.subscriptions.push(d);
  const log = vscode.window.createOutputChannel('Diffusion Studio');
  sub(log);
  const sidecar = new SidecarManager(context.extensionPath, log, context.secrets);
  const models = new ModelCatalog(sidecar);
  const jobs = new JobService(sidecar, models);
  const prompts = new PromptHistory(context.globalState);
  const distillProgress = new DistillProgressPanel(context.extensionUri);
  sub(distillProgress);
  const distill = new DistillTaskProvider(sidecar, models, distillProgress);
  const history = new HistoryService(jobs, models);
  const results = new ResultsPanel(
    context.extensionUri,
    jobs,
    {
      rerun: (item) => jobs.rerun(item).then(undefined, (e: Error) => vscode.window.showErrorMessage(`Diffusion Studio: ${e.message}`)),
      edit: (item) => vscode.commands.executeCommand('diffusionStudio.editImage', vscode.Uri.file(item.path)),
    },
    history,
  );
  services = { extensionUri: context.extensionUri, secrets: context.secrets, sidecar, jobs, models, prompts, results, distill, log };
  for (const d of [sidecar, models, jobs, history, results]) sub(d);
  for (const d of registerCommands(services)) sub(d);
  sub(
    vscode.commands.registerCommand('diffusionStudio.searchHistory', () =>
      searchHistoryCommand(history).then(undefined, (e: Error) => void vscode.window.showErrorMessage(`Diffusion Studio: ${e.message}`)),
    ),
  );
  const settingsView = new SettingsViewProvider(context.extensionUri, models, jobs, (prompt) =>
    vscode.commands.executeCommand('diffusionStudio.generate', prompt.trim() || undefined),
  );
  sub(settingsView);
  sub(vscode.window.registerWebviewViewProvider(SettingsViewProvider.viewId, settingsView));
  const pngInfo = new PngInfoPanel(context.extensionUri, (file) => vscode.commands.executeCommand('diffusionStudio.rerunWithParameters', file));
  sub(pngInfo);
  for (const d of registerPngInfoCommands({ panel: pngInfo, models, settingsView })) sub(d);
  sub(vscode.tasks.registerTaskProvider(DISTILL_TASK_TYPE, distill));
  sub(new StatusBar(sidecar, jobs));
  sub(vscode.commands.registerCommand('diffusionStudio.showDistillProgress', () => distillProgress.show()));
  const queue = new QueueView(sidecar);
  sub(queue);
  sub(
    vscode.commands.registerCommand('diffusionStudio.cancelQueuedJob', (job?: JobInfo) =>
      queue.cancel(job).then(undefined, (e: Error) => void vscode.window.showErrorMessage(`Diffusion Studio: ${e.message}`)),
    ),
  );
  sub(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.modelsFolders`) || e.affectsConfiguration(`${SECTION}.distillFolder`)) models.invalidate();
    }),
  );
  // A secret left in settings.json leaves it now, not at the first remote connection.
  migrateSecretSetting(context.secrets).catch((e: Error) => log.appendLine(`[extension] could not move the sidecar secret: ${e.message}`));
  // A restarted sidecar may list other models (e.g. a new GPU runtime, another remote host).
  sub(sidecar.onDidRestart(() => models.invalidate()));
  return { sidecar, jobs, models, results, distill, history, queue };
}

/** Stops the sidecar and waits for it, so no process outlives the extension host. */
export async function deactivate(): Promise<void> {
  await services?.sidecar.stop();
  services = undefined;
}
