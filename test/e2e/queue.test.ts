/**
 * UI: the Queue view in the Diffusion Studio side bar, keyboard only: two generations from the palette,
 * both listed (running with its progress, queued); the queued one selected with the arrow keys and
 * Enter and cancelled with Delete, the running one cancelled from its context menu (Shift+F10), then
 * the empty-state message. Neither cancelled job writes a file.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();

describe('Queue view in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  const settingsFile = () => path.join(env!.workspace, '.vscode', 'settings.json');
  let settingsBefore = '';
  const pngs = () => (existsSync(path.join(env!.workspace, 'generated')) ? readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png')) : []);
  const pane = () => wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Queue' }) });
  const row = (label: string) => pane().locator('.monaco-list-row').filter({ hasText: label });
  before(async () => {
    wb = await Workbench.open(env!);
    settingsBefore = readFileSync(settingsFile(), 'utf8');
  });
  after(async () => {
    writeFileSync(settingsFile(), settingsBefore);
    await wb?.screenshot('zz-final-queue').catch(() => undefined);
    await wb?.close();
  });

  test('keyboard only: a running and a queued job listed, each cancelled, the empty state after', async () => {
    // Long jobs (1000 steps, 16 images of 512x512: minutes on the test model here), so the second
    // waits behind the first; the test acts on the state it sees (progress shown), not on timing.
    const settings = JSON.parse(settingsBefore) as Record<string, unknown>;
    // The workspace's own model, not a student an earlier file selected: a student samples with its
    // own 2 steps whatever the settings say, and both jobs would be over before the view is read.
    const model = process.env.DS_E2E_MODEL ?? 'tiny-sd';
    const long = { 'diffusionStudio.model': model, 'diffusionStudio.steps': 1000, 'diffusionStudio.imageCount': 16, 'diffusionStudio.size': 512 };
    writeFileSync(settingsFile(), JSON.stringify({ ...settings, ...long }, null, 2));
    const panel = await wb.showSidePanel();
    await waitUntil('the side panel to show 1000 steps', async () => (await panel.locator('#steps input').inputValue()) === '1000', 60_000);
    const before = pngs().length;
    for (const prompt of ['queue one runs', 'queue two waits']) {
      await wb.openQuickInput('Diffusion Studio: Generate Image', /Describe the image/);
      await wb.answerQuickInput(prompt);
    }
    await wb.runCommand('Diffusion Studio: Focus on Queue View');
    await row('queue one runs').filter({ hasText: /generate · \d+% · denoise/ }).waitFor({ timeout: 60_000 });
    await row('queue two waits').filter({ hasText: 'generate · queued' }).waitFor();

    // Arrow keys move the focus; Enter selects the focused row; Delete cancels the selection.
    await wb.page.keyboard.press('Home');
    await wb.page.keyboard.press('ArrowDown');
    await pane().locator('.monaco-list-row.focused', { hasText: 'queue two waits' }).waitFor();
    await wb.page.keyboard.press('Enter');
    await pane().locator('.monaco-list-row.selected', { hasText: 'queue two waits' }).waitFor();
    await wb.screenshot('queue'); // both rows, the selected one with its inline Cancel
    await wb.page.keyboard.press('Delete');
    await row('queue two waits').waitFor({ state: 'detached' });
    assert.equal(await row('queue one runs').filter({ hasText: /generate · \d+%/ }).count(), 1, 'the running job is still listed, still running');

    // The running one through its context menu, opened from the keyboard on the focused row.
    await wb.page.keyboard.press('Home');
    await pane().locator('.monaco-list-row.focused', { hasText: 'queue one runs' }).waitFor();
    await wb.page.keyboard.press('Shift+F10');
    const cancel = wb.page.locator('.monaco-menu .action-item', { hasText: 'Cancel' }).first();
    await cancel.waitFor();
    await wb.page.waitForTimeout(400); // a menu ignores input in its first moments
    await wb.page.keyboard.press('ArrowDown'); // its only entry: focused either way
    await wb.page.keyboard.press('Enter');
    await pane().getByText('No jobs are queued or running.').waitFor({ timeout: 30_000 });
    await wb.screenshot('queue-empty');
    assert.equal(pngs().length, before, 'neither cancelled job wrote a file');
  });
});
