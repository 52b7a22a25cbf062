/**
 * UI: Generate Image from Selection, from the editor's context menu and from the palette (keyboard
 * only), in a Markdown file of the workspace; Ctrl+Z takes the link back out.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from './wait';
import { e2eEnv, Workbench } from './workbench';

const env = e2eEnv();
const PHRASE = 'a small red fox at dawn';
const LINK = /!\[a small red fox at dawn\]\(([^)\s]+)\)/;

describe('Generate Image from Selection in the workbench', { skip: env ? false : 'run through npm run test:e2e' }, () => {
  let wb: Workbench;
  const docs = () => path.join(env!.workspace, 'docs');
  const pngs = () => readdirSync(docs()).filter((f) => f.endsWith('.png'));
  before(async () => {
    wb = await Workbench.open(env!);
  });
  after(async () => {
    await wb?.screenshot('zz-final-selection').catch(() => undefined);
    await wb?.close();
  });

  test('context menu on a selection: the PNG lands beside the document and a link replaces the selection; Ctrl+Z undoes it', async () => {
    await wb.openFile('guide.md');
    await wb.selectInEditor(PHRASE);
    // The selection is drawn under the text: right-click the middle of where it is drawn.
    const box = (await wb.page.locator('.editor-group-container.active .monaco-editor .selected-text').first().boundingBox())!;
    await wb.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: 'right' });
    const entry = wb.page.locator('.monaco-menu .action-item', { hasText: 'Generate Image from Selection' }).first();
    await entry.waitFor();
    await entry.hover();
    await wb.page.keyboard.press('Enter');
    const href = await waitUntil('the image link in the editor', async () => LINK.exec(await wb.editorText())?.[1], 180_000);
    assert.equal(pngs().length, 1, `expected one PNG beside guide.md, found ${pngs().join(', ')}`);
    assert.ok(existsSync(path.join(docs(), decodeURIComponent(href))), `the link ${href} names no file beside guide.md`);
    assert.ok(!(await wb.editorText()).includes(`shows ${PHRASE}.`), 'the selection is still there');
    const results = await wb.webviewFrame('#gallery');
    await results.locator('.item figcaption', { hasText: PHRASE }).first().waitFor({ timeout: 60_000 });
    await wb.screenshot('selection-link');
    await wb.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await wb.page.keyboard.press('Control+z');
    await waitUntil('the undo', async () => (await wb.editorText()).includes(`shows ${PHRASE}.`) && !LINK.test(await wb.editorText()));
  });

  test('keyboard only: select with Find, run it from the palette; the earlier image is kept', async () => {
    const [first] = pngs();
    const firstBytes = readFileSync(path.join(docs(), first));
    await wb.selectInEditor(PHRASE);
    await wb.runCommand('Diffusion Studio: Generate Image from Selection');
    const href = await waitUntil('the image link in the editor', async () => LINK.exec(await wb.editorText())?.[1], 180_000);
    assert.notEqual(decodeURIComponent(href), first, 'the second image took the first one\'s name');
    assert.equal(pngs().length, 2);
    assert.deepEqual(readFileSync(path.join(docs(), first)), firstBytes, 'the first image was modified');
  });
});
