/**
 * UI tests: a user's routes through the workbench, driven with Playwright in code-server. Run by
 * `npm run test:e2e` (scripts/e2e/run.mjs), which starts code-server and passes DS_E2E_ENV; each test
 * saves a screenshot of the surface it exercised into the artifacts folder.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertStrictCsp } from './csp';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();
const NOT_AVAILABLE = /cannot run it yet|not part of this build/i;

describe('Diffusion Studio in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  before(async () => {
    wb = await Workbench.open(env!);
  });
  after(async () => {
    await wb?.screenshot('zz-final').catch(() => undefined);
    await wb?.close();
  });

  test('palette generation puts an image in the results webview', async () => {
    await wb.openQuickInput('Diffusion Studio: Generate Image', /Describe the image/);
    await wb.answerQuickInput('a smiling cat face');
    const results = await wb.webviewFrame('#gallery');
    await results.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('img.result')].some((i) => i.complete && i.naturalWidth > 0), undefined, { timeout: 180_000 });
    assert.match(await results.locator('.item figcaption').first().innerText(), /a smiling cat face/);
    const files = readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png'));
    assert.equal(files.length, 1, `expected one PNG in generated/, found ${files.join(', ')}`);
    await wb.screenshot('results-generate');
  });

  test('re-run from the gallery makes a new image with the same seed', async () => {
    const results = await wb.webviewFrame('#gallery');
    const seedOf = (group: number) =>
      results.locator('.group').nth(group).locator('.params tr', { has: results.locator('th:text-is("seed")') }).locator('td').textContent();
    const seed = await seedOf(0);
    await results.locator('.group').first().locator('.action-rerun').click();
    await results.locator('.group').nth(1).waitFor({ timeout: 180_000 });
    assert.equal(await seedOf(0), seed, 'the re-run used another seed');
    assert.equal(readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png')).length, 2, 'the re-run overwrote the first image');
  });

  test('a change in the side panel is used by the next generation', async () => {
    const panel = await wb.showSidePanel();
    const steps = panel.locator('#steps input');
    await steps.waitFor();
    await steps.fill('3');
    await steps.press('Enter');
    await steps.blur();
    const settingsFile = path.join(env!.workspace, '.vscode', 'settings.json');
    await waitUntil('diffusionStudio.steps = 3 in the workspace settings', () => /"diffusionStudio\.steps":\s*3\b/.test(readFileSync(settingsFile, 'utf8')));
    await panel.locator('#prompt textarea').fill('a green apple');
    await wb.screenshot('side-panel');
    await panel.locator('#generate').click();
    const results = await wb.webviewFrame('#gallery');
    const newest = results.locator('.group').first();
    await newest.locator('figcaption', { hasText: 'a green apple' }).waitFor({ timeout: 180_000 });
    const stepsRow = newest.locator('.params tr', { has: results.locator('th:text-is("steps")') });
    assert.equal(await stepsRow.locator('td').textContent(), '3', 'the generation did not use the side panel\'s steps');
    await wb.screenshot('results-after-side-panel');
  });

  test('right-click a PNG, Edit with Prompt, and the eta sweep appears side by side', async (t) => {
    await wb.runCommand('View: Show Explorer');
    await wb.expandFolder('images', 'cat.png');
    await wb.explorerContextMenu('cat.png', 'Edit with Prompt');
    await wb.answerQuickInput('a cat face wearing sunglasses');
    const results = await wb.webviewFrame('#gallery');
    const outcome = await Promise.race([
      results.locator('.group.edit .item').nth(2).waitFor({ timeout: 300_000 }).then(() => 'edited' as const),
      waitUntil('a notification', async () => (await wb.notifications()).some((n) => NOT_AVAILABLE.test(n)), 300_000).then(() => 'not-available' as const),
    ]);
    await wb.screenshot('results-edit');
    if (outcome === 'not-available') {
      t.skip('the menu route works, but this sidecar build cannot run edit (Imagic) jobs yet');
      return;
    }
    const newest = results.locator('.group').first();
    const captions = await newest.locator('.item:not(.sheet) figcaption').allInnerTexts();
    assert.deepEqual(captions.sort(), ['eta 0', 'eta 0.7', 'eta 1']);
    assert.equal(await newest.locator('.item.sheet').count(), 1, 'no contact sheet (input beside the sweep)');
  });

  test('both webviews run under a strict content security policy with a nonce', async () => {
    await wb.showSidePanel();
    for (const selector of ['#gallery', '#generate']) await assertStrictCsp(await wb.webviewFrame(selector), selector);
  });

  test('the distillation task runs a short job and the new model is listed', async (t) => {
    await wb.openQuickInput('Tasks: Run Task', /select the task to run/i);
    // Filter the task picker (its list re-renders as task providers answer), then pick.
    await wb.page.locator('.quick-input-widget .quick-input-box input:visible').fill('e2e distill');
    await wb.pickQuickItem('e2e distill');
    const terminal = wb.page.locator('.terminal-wrapper.active .xterm-rows, .terminal .xterm-rows').first();
    await terminal.waitFor({ timeout: 30_000 });
    const outcome = await waitUntil(
      'the task to finish',
      async () => {
        const text = await wb.page.locator('.xterm-rows').allInnerTexts().then((a) => a.join('\n'));
        if (/done: the student is in the model list/.test(text)) return 'done';
        if (NOT_AVAILABLE.test(text)) return 'not-available';
        if (/error:/.test(text)) return `failed: ${text.slice(-500)}`;
        return undefined;
      },
      400_000,
    );
    await wb.screenshot('distill-task');
    if (outcome === 'not-available') {
      t.skip('the task runs, but this sidecar build cannot run distill jobs yet');
      return;
    }
    assert.equal(outcome, 'done');
    assert.ok(existsSync(path.join(env!.workspace, 'students', 'e2e-student', 'guided-2', 'model_index.json')), 'no 2-step student model folder');
    await wb.openQuickInput('Diffusion Studio: Select Model', /^Model for generation$/);
    // The list is virtualised: filter it so the student's row is rendered.
    await wb.page.locator('.quick-input-widget .quick-input-box input:visible').fill('e2e-student/guided-2');
    await wb.pickQuickItem(/e2e-student\/guided-2/, 30_000).catch(async (err) => {
      await wb.screenshot('select-model-missing-student');
      throw err;
    });
  });

  test('a killed sidecar is restarted, the user is told, and the next generation works', async () => {
    const [pid] = sidecarPids(env!.extensionPath);
    assert.ok(pid, 'no sidecar process found');
    process.kill(pid, 'SIGKILL');
    // Toasts hide after a while (and a headless window may not show them): read the notification center.
    const restarted = /Diffusion Studio: the sidecar stopped .*restarting it/i;
    await waitUntil('the restart notification', async () => (await wb.allNotifications()).some((n) => restarted.test(n)), 60_000);
    assert.ok((await wb.allNotifications('sidecar-restarted')).some((n) => restarted.test(n)));
    // An empty list is truthy: wait for a pid, not for the list.
    const fresh = await waitUntil('a new sidecar process', () => sidecarPids(env!.extensionPath).find((p) => p !== pid), 60_000);
    assert.doesNotThrow(() => process.kill(fresh, 0), 'the new sidecar is not running');
    const before = readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png')).length;
    // Once, under load, the prompt box went inert (a workbench-wide modal) right after it opened: the
    // screenshot says what it was if it happens again; the generation must still work on a second try.
    for (let attempt = 1; ; attempt++) {
      try {
        await wb.openQuickInput('Diffusion Studio: Generate Image', /Describe the image/);
        await wb.answerQuickInput('a yellow star');
        break;
      } catch (err) {
        await wb.screenshot(`restart-generate-attempt-${attempt}`);
        const active = await wb.page.evaluate(() => {
          const a = document.activeElement;
          return a ? `${a.tagName}.${a.className} ${a.getAttribute('aria-label') ?? ''}`.slice(0, 200) : 'none';
        });
        console.log(`restart, attempt ${attempt}: the prompt box closed; the focus is on ${active}`);
        if (attempt === 2) throw err;
        await wb.page.keyboard.press('Escape');
      }
    }
    await waitUntil('a new PNG', () => readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png')).length > before, 180_000);
  });

  test("an open image's title bar offers Edit with Prompt for that image", async () => {
    await wb.runCommand('View: Show Explorer');
    await wb.expandFolder('images', 'cat.png');
    const row = wb.page.locator('.explorer-folders-view .monaco-list-row').filter({ hasText: /^cat\.png$/ }).first();
    const button = wb.page.locator('.editor-actions .action-label[aria-label="Edit with Prompt"]');
    // Open the image (select the row, Enter); once more if the first keystroke went elsewhere.
    for (let attempt = 0; attempt < 3 && !(await button.first().isVisible()); attempt++) {
      await row.click();
      await wb.page.keyboard.press('Enter');
      await button.first().waitFor({ timeout: 8000 }).catch(() => undefined);
    }
    await button.first().waitFor({ timeout: 5000 });
    await wb.screenshot('editor-title-edit');
    await button.first().click();
    await wb.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Edit images/cat.png with a prompt' }).waitFor({ timeout: 30_000 });
    await wb.page.keyboard.press('Escape');
  });
});

/** Sidecar processes of this extension (spawned as `<sidecar> serve --port 0 --watch-stdin`). */
function sidecarPids(extensionPath: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // exited meanwhile
    }
    if (cmd.includes(extensionPath) && / serve --port 0 --watch-stdin/.test(cmd)) pids.push(Number(d));
  }
  return pids;
}
