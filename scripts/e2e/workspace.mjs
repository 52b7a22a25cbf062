// The workspace the end-to-end tests open: a sample image to edit, a Markdown page, settings pointing the extension at
// the test models, and a short distillation task in tasks.json.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The model the tests generate with: the tiny test fixture (fast, untrained: its images are noise),
 * or with DS_E2E_MODEL=<id> a model of models/ (e.g. emoji-base, for screenshots worth showing).
 */
export function testModel(repo) {
  const fixtures = path.join(repo, 'test', 'fixtures');
  const wanted = process.env.DS_E2E_MODEL;
  if (wanted && existsSync(path.join(repo, 'models', wanted, 'model_index.json'))) {
    return { folders: [fixtures, path.join(repo, 'models')], model: wanted, teacher: 'tiny-sd' };
  }
  return { folders: [fixtures], model: 'tiny-sd', teacher: 'tiny-sd' };
}

export function prepareWorkspace(repo, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  mkdirSync(path.join(dir, 'images'), { recursive: true });
  // A real emoji (Noto, Apache-2.0) to right-click and edit.
  const cat = path.join(repo, 'node_modules', 'emoji-datasource-google', 'img', 'google', '64', '1f431.png');
  if (existsSync(cat)) cpSync(cat, path.join(dir, 'images', 'cat.png'));
  // A PNG as AUTOMATIC1111 writes it (parameters for another model), for PNG info; in a folder of its
  // own, so the core UI tests see images/ as before.
  mkdirSync(path.join(dir, 'a1111'), { recursive: true });
  cpSync(path.join(repo, 'test', 'fixtures', 'png-info', 'a1111-lighthouse.png'), path.join(dir, 'a1111', 'lighthouse.png'));
  // A Markdown page to generate an illustration from (Generate Image from Selection).
  mkdirSync(path.join(dir, 'docs'), { recursive: true });
  writeFileSync(path.join(dir, 'docs', 'guide.md'), '# Field guide\n\nThe cover shows a small red fox at dawn.\n\nMore text follows.\n');
  const m = testModel(repo);
  const settings = {
    'diffusionStudio.modelsFolders': m.folders,
    'diffusionStudio.model': m.model,
    'diffusionStudio.steps': 4,
    // Kept here (at their defaults) so what the tests change through the side panel or a PNG's
    // parameters is written to this file, which a test can put back.
    'diffusionStudio.guidanceScale': null,
    'diffusionStudio.scheduler': 'auto',
    'diffusionStudio.seedMode': 'random',
    'diffusionStudio.seed': 42,
    'diffusionStudio.negativePrompt': '',
    'diffusionStudio.size': 0,
    'diffusionStudio.outputFolder': 'generated',
    'diffusionStudio.distillFolder': 'students',
    'diffusionStudio.editEtas': [0, 0.7, 1],
    'files.exclude': { '**/.vscode': true },
    // One editor line per text line, so a test reads a whole line from the DOM.
    '[markdown]': { 'editor.wordWrap': 'off' },
  };
  writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
  const tasks = {
    version: '2.0.0',
    tasks: [
      // samples: 0: its sample PNGs (with parameters) would join the History that later UI tests read.
      { label: 'e2e distill', type: 'diffusion-distill', mode: 'guided', teacher: m.teacher, targetSteps: 2, iterations: 4, samples: 0, outputFolder: 'students/e2e-student', problemMatcher: [] },
      // The progress panel's test: two rounds (8 -> 4 -> 2) of 3000 iterations (30 s each on the fixture on a
      // quiet machine, 45-90 s under load; 1000 let a quiet CI run finish before the panel was first read; a
      // real DS_E2E_MODEL is slower per step and keeps 1000),
      // so the test sees round 1 drawn while the task runs, not only the end; with DS_E2E_MODEL the
      // teacher is that model, so the screenshot's samples are pictures rather than the fixture's noise.
      { label: 'e2e distill progress', type: 'diffusion-distill', mode: 'progressive', teacher: process.env.DS_E2E_MODEL ? m.model : m.teacher, teacherSteps: 8, targetSteps: 2, iterations: process.env.DS_E2E_MODEL ? 1000 : 3000, samples: 4, outputFolder: 'students/e2e-progress', problemMatcher: [] },
    ],
  };
  writeFileSync(path.join(dir, '.vscode', 'tasks.json'), JSON.stringify(tasks, null, 2));
  return dir;
}
