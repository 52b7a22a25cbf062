/**
 * UI: the distillation progress panel, keyboard only: Tasks: Run Task -> a two-round progressive task
 * -> the panel opens beside its terminal with a loss line per round, drawn live, and a row of samples
 * for each finished round; closed with the other editors, Show Distillation Progress brings it back
 * with the same picture; its table of losses opens with the keyboard.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();

describe('Distillation progress panel in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  before(async () => {
    wb = await Workbench.open(env!);
  });
  after(async () => {
    await wb?.screenshot('zz-final-distill-progress').catch(() => undefined);
    await wb?.close();
    // Its sample PNGs carry parameters: left there, they would join the History the next files test.
    rmSync(path.join(env!.workspace, 'students', 'e2e-progress'), { recursive: true, force: true });
  });

  test('keyboard only: the task draws its loss live and a sample row per finished round', async () => {
    await wb.openQuickInput('Tasks: Run Task', /select the task to run/i);
    const input = wb.page.locator('.quick-input-widget .quick-input-box input:visible');
    await input.fill('e2e distill progress');
    // The picker re-renders as task providers answer (and lists recent tasks first): Enter only once the
    // row with the focus, the one Enter runs, is this task.
    await wb.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'e2e distill progress' }).waitFor({ timeout: 30_000 });
    await input.press('Enter');
    const panel = await wb.webviewFrame('#loss-chart', 120_000);
    // Live: round 1's line is drawn while the task still runs. Watched inside the page (a mutation
    // observer), so a poll that comes late cannot miss the moment; the page must be reached while the task
    // runs, which its 2 x 3000 iterations (scripts/e2e/workspace.mjs) leave ample time for.
    // (A string, not a function: the test runner's transform adds helpers a page does not have.)
    await panel.evaluate(`(() => {
      const check = function () {
        const running = !/^succeeded/.test(document.getElementById('status')?.textContent ?? '');
        if (running && document.querySelector('path.curve[data-round="1"]')) window.liveCurve = true;
      };
      check();
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await waitUntil('round 1\'s loss line while the task runs', async () => (await panel.evaluate('window.liveCurve === true')) || undefined, 120_000);
    await waitUntil('the task to succeed', async () => /^succeeded: done: 2 students/.test((await panel.locator('#status').textContent()) ?? '') || undefined, 400_000);
    assert.equal(await panel.locator('path.curve').count(), 2, 'a loss line per round');
    assert.deepEqual(await panel.locator('figure.sample-row').evaluateAll((fs) => fs.map((f) => f.getAttribute('data-round'))), ['1', '2']);
    const size = await panel.locator('figure.sample-row img').first().evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    assert.equal(size[0], 4 * size[1], 'four samples side by side');
    assert.ok(existsSync(path.join(env!.workspace, 'students', 'e2e-progress', 'samples', 'round-2.png')));
    await wb.runCommand('View: Hide Panel'); // the terminal: room for the whole picture
    // The palette fades out: a screenshot taken at once shows its ghost over the chart.
    await wb.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    await wb.screenshot('distill-progress');

    // Closed, then back from the palette: the same picture.
    await wb.runCommand('View: Close All Editors');
    await wb.page.locator('.tab', { hasText: 'Distillation Progress' }).waitFor({ state: 'detached' });
    await wb.runCommand('Diffusion Studio: Show Distillation Progress');
    const again = await wb.webviewFrame('#loss-chart', 60_000);
    await waitUntil('the samples again', async () => (await again.locator('figure.sample-row').count()) === 2 || undefined, 30_000);
    // The table says it in words; its summary opens with Enter.
    await again.locator('#loss-details summary').focus();
    await wb.page.keyboard.press('Enter');
    await again.locator('#loss-table').waitFor();
    assert.equal(await again.locator('#loss-table tr').count(), 3, 'a header and a row per round');
    const task = (JSON.parse(readFileSync(path.join(env!.workspace, '.vscode', 'tasks.json'), 'utf8')) as { tasks: Array<{ label: string; iterations: number }> }).tasks.find((t) => t.label === 'e2e distill progress')!;
    assert.match((await again.locator('#loss-table tr').nth(1).textContent()) ?? '', new RegExp(`^1 \\(round, 4 steps\\)${task.iterations}`), 'every step of round 1 seen');
  });
});
