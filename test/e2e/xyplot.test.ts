/**
 * UI: X/Y Plot from the palette, keyboard only: a prompt, the X setting (Model) and its values, a bad
 * value named under the box, the Y setting (Seed) as a range; the grid and the cells in the gallery,
 * one PNG per cell plus the grid on disk.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();

describe('X/Y Plot in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  const pngs = () => (existsSync(path.join(env!.workspace, 'generated')) ? readdirSync(path.join(env!.workspace, 'generated')).filter((f) => f.endsWith('.png')) : []);
  const quickTitle = () => wb.page.locator('.quick-input-widget:visible .quick-input-title');
  const quickInput = () => wb.page.locator('.quick-input-widget:visible .quick-input-box input');
  const message = (text: string) => wb.page.locator('.quick-input-widget:visible .quick-input-message', { hasText: text });
  /** Types a filter into the open quick pick and accepts the row it leaves focused, once that row is `label`. */
  const pickByTyping = async (label: string) => {
    await quickInput().fill(label);
    await wb.page.locator('.quick-input-widget:visible .quick-input-list .monaco-list-row.focused', { hasText: label }).waitFor();
    await quickInput().press('Enter');
  };
  before(async () => {
    wb = await Workbench.open(env!);
  });
  after(async () => {
    await wb?.screenshot('zz-final-xyplot').catch(() => undefined);
    await wb?.close();
  });

  test('keyboard only: teacher and student by seed, a bad model named, the labelled grid in the gallery', async () => {
    const before = pngs().length;
    await wb.openQuickInput('Diffusion Studio: X/Y Plot', /X\/Y Plot$/);
    await wb.answerQuickInput('cat face');
    await quickTitle().filter({ hasText: 'the X axis varies' }).waitFor();
    await pickByTyping('Model');
    await quickTitle().filter({ hasText: 'X = Model' }).waitFor();
    await quickInput().fill('emoji-base, sd-xl');
    await message('Model: "sd-xl" is not in the model list').waitFor();
    await wb.screenshot('xyplot-refused');
    await quickInput().fill('emoji-base, emoji-guided-4');
    await message('Model: "sd-xl"').waitFor({ state: 'detached' }).catch(() => undefined);
    await quickInput().press('Enter');
    await quickTitle().filter({ hasText: 'the Y axis varies' }).waitFor();
    assert.equal(await wb.page.locator('.quick-input-widget:visible .quick-input-list .monaco-list-row', { hasText: 'Model' }).count(), 0, 'X\'s setting is not offered for Y');
    await pickByTyping('Seed');
    await quickTitle().filter({ hasText: 'Y = Seed' }).waitFor();
    await quickInput().fill('1-3');
    await quickInput().press('Enter');
    const results = await wb.webviewFrame('#gallery');
    const grid = results.locator('figure.grid', { has: results.locator('figcaption', { hasText: 'X/Y plot: Model × Seed' }) }).first();
    await grid.waitFor({ timeout: 180_000 });
    const group = results.locator('.group', { has: grid });
    assert.equal(await group.locator('figure').count(), 7, 'six cells and the grid in one group');
    await results.locator('figcaption', { hasText: 'Model emoji-guided-4 · Seed 3' }).first().waitFor();
    await results.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('figure.grid img.result')].some((i) => i.complete && i.naturalWidth > 0));
    await waitUntil('six cells and the grid on disk', () => pngs().length === before + 7);
    assert.ok(pngs().some((f) => f.startsWith('xyplot-cat-face')), 'the grid PNG');
    await wb.screenshot('xyplot');
  });
});
