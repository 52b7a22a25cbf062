/**
 * UI: Vary Image (image-to-image) from the explorer's context menu with the image's own prompt and a
 * strength checked as it is typed, and from the palette on an open image, keyboard only.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();
const LIGHTHOUSE = 'a watercolor painting of a lighthouse, dramatic sky';

describe('Vary Image in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  // The output folder exists once something was generated (this file may run alone).
  const pngs = () => (existsSync(path.join(env!.workspace, 'generated')) ? readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png')) : []);
  const quickTitle = () => wb.page.locator('.quick-input-widget:visible .quick-input-title');
  const quickInput = () => wb.page.locator('.quick-input-widget:visible .quick-input-box input');
  before(async () => {
    wb = await Workbench.open(env!);
  });
  after(async () => {
    await wb?.screenshot('zz-final-vary').catch(() => undefined);
    await wb?.close();
  });

  test('right-click a PNG, Vary Image: its own prompt offered, a bad strength named, the variation in the gallery', async () => {
    const before = pngs().length;
    await wb.runCommand('View: Show Explorer');
    await wb.expandFolder('a1111', 'lighthouse.png');
    await wb.explorerContextMenu('lighthouse.png', 'Vary Image');
    await quickTitle().filter({ hasText: 'Vary a1111/lighthouse.png' }).waitFor();
    assert.equal(await quickInput().inputValue(), LIGHTHOUSE, 'the image\'s own prompt is not offered');
    await quickInput().press('Enter');
    await quickTitle().filter({ hasText: 'strength' }).waitFor();
    assert.equal(await quickInput().inputValue(), '0.75');
    await quickInput().fill('2');
    await wb.page.locator('.quick-input-widget:visible .quick-input-message', { hasText: 'greater than 0 and at most 1' }).waitFor();
    await wb.screenshot('vary-strength-refused');
    await quickInput().fill('0.5');
    await quickInput().press('Enter');
    const results = await wb.webviewFrame('#gallery');
    const group = results.locator('.group', { has: results.locator('figcaption', { hasText: 'lighthouse.png ~' }) }).first();
    await group.waitFor({ timeout: 180_000 });
    const strengthRow = group.locator('.params tr', { has: results.locator('th:text-is("Denoising strength")') });
    assert.equal(await strengthRow.locator('td').textContent(), '0.5');
    await results.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('img.result')].some((i) => i.complete && i.naturalWidth > 0));
    await waitUntil('the new PNG', () => pngs().length === before + 1);
    await group.locator('.params summary').first().click(); // open its parameters for the screenshot
    await group.locator('.params table').first().waitFor();
    await wb.screenshot('vary-image');
  });

  test('keyboard only: open an image with Go to File, Vary Image from the palette', async () => {
    const before = pngs().length;
    await wb.openFile('cat.png');
    await wb.openQuickInput('Diffusion Studio: Vary Image', /Vary images\/cat\.png/);
    assert.equal(await quickInput().inputValue(), '', 'cat.png has no parameters: nothing to offer');
    await wb.answerQuickInput('a cat face in the snow');
    await quickTitle().filter({ hasText: 'Vary images/cat.png: strength' }).waitFor();
    await quickInput().press('Enter');
    const results = await wb.webviewFrame('#gallery');
    await results.locator('figcaption', { hasText: 'cat.png ~ a cat face in the snow · strength 0.75' }).first().waitFor({ timeout: 180_000 });
    await waitUntil('the new PNG', () => pngs().length === before + 1);
  });
});
