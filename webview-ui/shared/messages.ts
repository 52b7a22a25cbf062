/**
 * The one message union between the extension and its webviews (results panel, guidance side panel,
 * PNG info panel).
 * Both sides switch on `type`; the extension checks what arrives from a webview with
 * `parseWebviewMessage` (validate.ts) before acting on it (a webview is a browser page: its messages are input).
 */

/** One image in the results gallery. */
export interface GalleryItem {
  /** Unique within the session. */
  id: string;
  kind: 'generate' | 'edit';
  /** Absolute path of the PNG on the extension host's machine. */
  path: string;
  /** URI the webview can load (asWebviewUri). */
  src: string;
  /** Short caption, e.g. the prompt, or "eta 0.7". */
  title: string;
  /** The parameters that made it (prompt, seed, steps, scale, scheduler, model, eta ...). */
  params: Record<string, unknown>;
  /** Job that produced it (items of one edit sweep share it and are shown side by side). */
  jobId: string;
  /** An edit's contact sheet (input, then one cell per eta), shown wide at the end of its group. */
  sheet?: boolean;
  /** An X/Y plot's grid (a sheet with labels): shown tall too, so its labels can be read. */
  grid?: boolean;
}

/** A job as the results panel shows it while it runs. */
export interface JobView {
  jobId: string;
  kind: 'generate' | 'edit' | 'distill' | 'xyplot';
  title: string;
  stage: string;
  step: number;
  total: number;
  etaMs?: number;
  /** data: URL of the sidecar's preview PNG. */
  preview?: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  error?: string;
}

/** The guidance settings the side panel edits (mirrors diffusionStudio.* settings). */
export interface GuidanceSettings {
  model: string;
  /** null: the model's own (see SettingsDefaults for what that falls back to). */
  guidanceScale: number | null;
  steps: number | null;
  /** A sampler id, or 'auto' for the model's own. */
  scheduler: string;
  seedMode: 'random' | 'fixed';
  seed: number;
  negativePrompt: string;
  size: number;
}

export interface ModelChoice {
  id: string;
  name: string;
  /** Steps a distilled student was distilled for. */
  distilledSteps?: number;
  /** A guided student takes the scale as an input: one UNet evaluation per step instead of two. */
  guidanceRange?: [number, number];
  resolution?: number;
}

/** One entry of the scheduler dropdown: a sampler id (or 'auto') and what the user reads. */
export interface SchedulerChoice {
  value: string;
  label: string;
}

/** What "the model's own" falls back to for a model that says nothing (shown as a hint). */
export interface SettingsDefaults {
  guidanceScale: number;
  steps: number;
}

/** A PNG's A1111 parameters as the PNG info panel shows them. */
export interface PngInfoView {
  /** Absolute path, and the workspace-relative name shown as the title. */
  path: string;
  name: string;
  /** URI the webview can load. */
  src: string;
  prompt: string;
  negativePrompt: string;
  /** `Key: value` pairs in the order the file has them (Steps, Sampler, CFG scale, Seed, Size ...). */
  fields: Array<[string, string]>;
  /** The `parameters` text as stored. */
  text: string;
}

/** One image of the workspace's history (a PNG with parameters), as the results panel lists it. */
export interface HistoryView {
  path: string;
  /** Workspace-relative name. */
  name: string;
  src: string;
  kind: 'generate' | 'edit' | 'vary';
  prompt: string;
  /** Modified time, ms since the epoch. */
  mtimeMs: number;
  /** A short line of its parameters, e.g. "seed 42 · 20 steps · DPM++ 2M · tiny-sd". */
  summary: string;
}

export const HISTORY_ACTIONS = ['open', 'reveal', 'copy', 'rerun', 'delete'] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

/** Distillation progress panel: one point of a phase's loss curve (a mean over a bucket of steps). */
export interface CurvePoint {
  step: number;
  loss: number;
}

/** One phase of a distillation (guided stage 1, or a halving round) as the progress panel draws it. */
export interface PhaseView {
  round: number;
  /** 'stage1' (guided: w-conditioning) or 'round'. */
  kind: string;
  /** Steps the phase's student samples with. */
  studentSteps?: number;
  points: CurvePoint[];
  /** The phase's training steps, when known (the x extent of its part of the chart). */
  total?: number;
  /** Loss events received for this phase (the points are their bucket means). */
  received: number;
  lastLoss?: number;
}

/** The samples of one finished phase's student: one PNG row, base64. */
export interface SampleRow {
  round: number;
  studentSteps?: number;
  png: string;
}

export interface DistillProgressView {
  title: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  rounds?: number;
  phases: PhaseView[];
  samples: SampleRow[];
  /** The latest step ("round 2/4 · step 30/100 · loss 0.1234"), or how it ended. */
  line: string;
}

// ------------------------------------------------------------------ extension -> webview

export type ToWebview =
  | { type: 'init'; items: GalleryItem[]; jobs: JobView[] }
  | { type: 'job'; job: JobView }
  | { type: 'items'; items: GalleryItem[] }
  | { type: 'pngInfo'; info: PngInfoView }
  | { type: 'distill'; view: DistillProgressView }
  /** Results panel: the history entries matching `query` (of `total`), newest first. */
  | { type: 'history'; entries: HistoryView[]; query: string; total: number }
  /** Side panel: put this prompt into the prompt box (Re-run with these parameters). */
  | { type: 'prompt'; prompt: string }
  | {
      type: 'settings';
      settings: GuidanceSettings;
      models: ModelChoice[];
      schedulers: SchedulerChoice[];
      defaults: SettingsDefaults;
      busy: boolean;
    };

// ------------------------------------------------------------------ webview -> extension

export type FromWebview =
  | { type: 'ready' }
  | { type: 'open'; id: string }
  | { type: 'reveal'; id: string }
  | { type: 'copyParams'; id: string }
  | { type: 'rerun'; id: string }
  | { type: 'edit'; id: string }
  | { type: 'cancel'; jobId: string }
  /** value null: back to the default (only for the settings that may be left to the model). */
  | { type: 'update'; key: keyof GuidanceSettings; value: string | number | null }
  | { type: 'generate'; prompt: string }
  /** PNG info panel: fill the side panel with the shown image's parameters; copy its parameters text. */
  | { type: 'rerunParams' }
  | { type: 'copyInfo' }
  /** Results panel, history: search by prompt; an action on one entry (named by its path). */
  | { type: 'historySearch'; query: string }
  | { type: 'historyAction'; action: HistoryAction; path: string };

/** The settings an empty field resets to "the model's own". */
export const NULLABLE_KEYS = new Set<keyof GuidanceSettings>(['guidanceScale', 'steps']);
