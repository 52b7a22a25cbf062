/// <reference types="mocha" />
/** Generate Image from Selection: the image beside the document, the link in place of the selection, undo. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, setSetting, waitFor, workspaceRoot } from './helpers';

const DOC = '# Guide\n\nThe header shows a small red fox at dawn.\n\nMore text.\n';
const PHRASE = 'a small red fox at dawn';

interface SelectionImage { item: { path: string }; link: string; inserted: boolean }

async function openWithSelection(file: string, phrase: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(file);
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
  const at = doc.getText().indexOf(phrase);
  assert.ok(at >= 0, `"${phrase}" is not in ${file}`);
  editor.selection = new vscode.Selection(doc.positionAt(at), doc.positionAt(at + phrase.length));
  return editor;
}

/** The file a Markdown link's destination names, relative to the document. */
const linkTarget = (doc: string, link: string) => path.join(path.dirname(doc), decodeURIComponent(/\]\(([^)]+)\)$/.exec(link)![1]));

describe('Generate Image from Selection', () => {
  const dir = () => path.join(workspaceRoot(), 'e2e-out', 'selection');
  const file = () => path.join(dir(), 'guide.md');
  let restore: Array<() => Thenable<void>> = [];

  before(async function () {
    const { sidecar } = await api();
    await sidecar.ensure();
    if (!sidecar.capabilities?.jobKinds.generate) this.skip();
    fs.mkdirSync(dir(), { recursive: true });
    fs.writeFileSync(file(), DOC);
    restore = [await setSetting('seedMode', 'fixed'), await setSetting('seed', 11), await setSetting('selectionImageFolder', 'pics')];
  });
  after(async () => {
    for (const r of restore) await r();
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('saves the image in the configured folder beside the document, links it in place of the selection, and one undo restores the text', async () => {
    const editor = await openWithSelection(file(), PHRASE);
    const r = await vscode.commands.executeCommand<SelectionImage>('diffusionStudio.generateFromSelection');
    assert.ok(r?.inserted, 'no image link was inserted');
    assert.equal(path.dirname(r.item.path), path.join(dir(), 'pics'));
    assert.equal(linkTarget(file(), r.link), r.item.path, `the link ${r.link} does not name the image`);
    assert.ok(fs.statSync(r.item.path).size > 0);
    assert.equal(editor.document.getText(), DOC.replace(PHRASE, `![${PHRASE}](pics/${encodeURIComponent(path.basename(r.item.path))})`));
    await vscode.window.showTextDocument(editor.document, { viewColumn: vscode.ViewColumn.One });
    await vscode.commands.executeCommand('undo');
    await waitFor('the undo', () => editor.document.getText() === DOC || undefined, 5000);
  });

  it('never overwrites an earlier image: a second run with the same seed gets a new name', async () => {
    const editor = await openWithSelection(file(), PHRASE);
    const before = new Map(fs.readdirSync(path.join(dir(), 'pics')).map((f) => [f, fs.readFileSync(path.join(dir(), 'pics', f))]));
    assert.equal(before.size, 1, 'the first test left no image');
    const r = await vscode.commands.executeCommand<SelectionImage>('diffusionStudio.generateFromSelection');
    assert.ok(r?.inserted, `no image link was inserted: ${JSON.stringify(r?.link)} in ${JSON.stringify(editor.document.getText())}`);
    assert.ok(!before.has(path.basename(r.item.path)), `the second image took the first one's name ${path.basename(r.item.path)}`);
    for (const [f, bytes] of before) assert.deepEqual(fs.readFileSync(path.join(dir(), 'pics', f)), bytes, `${f} was modified`);
    assert.equal(editor.document.getText(), DOC.replace(PHRASE, r.link));
    assert.equal(linkTarget(file(), r.link), r.item.path);
  });

  it('refuses an empty selection and leaves the document and the folder alone', async () => {
    const editor = await openWithSelection(file(), 'More text.');
    editor.selection = new vscode.Selection(editor.selection.start, editor.selection.start);
    const text = editor.document.getText();
    const files = fs.readdirSync(path.join(dir(), 'pics')).length;
    const r = await vscode.commands.executeCommand<SelectionImage | undefined>('diffusionStudio.generateFromSelection');
    assert.equal(r, undefined);
    assert.equal(editor.document.getText(), text);
    assert.equal(fs.readdirSync(path.join(dir(), 'pics')).length, files);
  });
});
