/**
 * UI: PNG info from the explorer for another tool's PNG (A1111 parameters), "Re-run with these
 * parameters" filling the side panel, the same from the palette, and a PNG without parameters refused.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertStrictCsp } from './csp';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();
const PROMPT = 'a watercolor painting of a lighthouse, dramatic sky';

describe('PNG info in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  const settingsFile = () => path.join(env!.workspace, '.vscode', 'settings.json');
  let settingsBefore = '';
  before(async () => {
    settingsBefore = readFileSync(settingsFile(), 'utf8');
    wb = await Workbench.open(env!);
  });
  after(async () => {
    await wb?.screenshot('zz-final-png-info').catch(() => undefined);
    await wb?.close();
    // The fill wrote the lighthouse's settings (512 px, 28 steps): the next test files start from the usual ones.
    writeFileSync(settingsFile(), settingsBefore);
  });

  test('right-click an A1111 PNG, Show PNG Info: the image, its prompt and its parameters, under a strict CSP', async () => {
    await wb.runCommand('View: Show Explorer');
    await wb.expandFolder('a1111', 'lighthouse.png');
    await wb.explorerContextMenu('lighthouse.png', 'Show PNG Info');
    const info = await wb.webviewFrame('#fields');
    assert.equal(await info.locator('#prompt').innerText(), PROMPT);
    assert.equal(await info.locator('#negative').innerText(), 'blurry, lowres');
    const field = (k: string) => info.locator('#fields tr', { has: info.locator(`th:text-is("${k}")`) }).locator('td').innerText();
    assert.equal(await field('Sampler'), 'DPM++ 2M');
    assert.equal(await field('Schedule type'), 'Karras');
    assert.equal(await field('Model'), 'v1-5-pruned-emaonly');
    await info.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#image');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    await assertStrictCsp(info, 'PNG info');
    await wb.screenshot('png-info');
  });

  test('Re-run with these parameters fills the side panel and names the model it does not have', async () => {
    const info = await wb.webviewFrame('#fields');
    await info.locator('#rerun').click();
    const panel = await wb.webviewFrame('#generate');
    await waitUntil('the prompt in the side panel', async () => (await panel.locator('#prompt textarea').inputValue()) === PROMPT);
    await waitUntil('steps 28 in the side panel', async () => (await panel.locator('#steps input').inputValue()) === '28');
    assert.equal(await panel.locator('#seed input').inputValue(), '1234567');
    const settings = JSON.parse(readFileSync(settingsFile(), 'utf8')) as Record<string, unknown>;
    assert.equal(settings['diffusionStudio.scheduler'], 'dpmpp_2m_karras');
    assert.equal(settings['diffusionStudio.seedMode'], 'fixed');
    assert.equal(settings['diffusionStudio.model'], JSON.parse(settingsBefore)['diffusionStudio.model'], 'the model was replaced by one this machine does not have');
    await wb.screenshot('png-info-rerun');
    const notes = await wb.allNotifications();
    assert.ok(notes.some((n) => /Model "v1-5-pruned-emaonly": not in the model list/.test(n)), notes.join('\n'));
  });

  test('keyboard only: the palette\'s Re-run with These Parameters acts on the PNG shown', async () => {
    // Put other values back, show the info panel again, then run the command from the palette.
    writeFileSync(settingsFile(), settingsBefore);
    const panel = await wb.webviewFrame('#generate');
    const steps = String(JSON.parse(settingsBefore)['diffusionStudio.steps'] ?? ''); // 3 after ui.test.ts's side-panel test
    await waitUntil(`the steps setting back at ${steps}`, async () => (await panel.locator('#steps input').inputValue()) === steps);
    await panel.locator('#prompt textarea').fill('');
    await wb.page.locator('.tabs-container .tab', { hasText: 'PNG Info: lighthouse.png' }).click();
    await wb.runCommand('Diffusion Studio: Re-run with These Parameters');
    await waitUntil('the prompt in the side panel', async () => (await panel.locator('#prompt textarea').inputValue()) === PROMPT);
    await waitUntil('steps 28 in the side panel', async () => (await panel.locator('#steps input').inputValue()) === '28');
  });

  test('a PNG without parameters is refused with a message naming it', async () => {
    await wb.runCommand('View: Show Explorer');
    await wb.expandFolder('images', 'cat.png');
    await wb.explorerContextMenu('cat.png', 'Show PNG Info');
    const refused = /cat\.png has no "parameters" text chunk/;
    const notes = await waitUntil('the error', async () => {
      const all = await wb.allNotifications();
      return all.some((n) => refused.test(n)) ? all : undefined;
    });
    assert.ok(notes.some((n) => refused.test(n)));
  });
});
