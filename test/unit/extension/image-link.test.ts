// Generate Image from Selection without VS Code: the prompt a selection gives, where the image goes,
// and the Markdown link that replaces the selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { markdownImageLink, selectionImageFolder, selectionPrompt } from '../../../src/extension/selection/imageLink';

test('a selection becomes a one-line prompt; an empty or too long one is refused with the reason', () => {
  assert.deepEqual(selectionPrompt('  a red\n  fox\tat dawn \n'), { prompt: 'a red fox at dawn' });
  const empty = selectionPrompt(' \n\t ');
  assert.ok('error' in empty && /selection is empty/.test(empty.error));
  const long = selectionPrompt('x'.repeat(10_001));
  assert.ok('error' in long && /10001 characters.*at most 10000/.test(long.error), JSON.stringify(long));
});

test('the image folder is resolved against the document folder; absolute and home paths as given', () => {
  const doc = path.join('/ws', 'docs', 'guide.md');
  assert.equal(selectionImageFolder(doc, '.'), path.join('/ws', 'docs'));
  assert.equal(selectionImageFolder(doc, ''), path.join('/ws', 'docs'));
  assert.equal(selectionImageFolder(doc, 'images'), path.join('/ws', 'docs', 'images'));
  assert.equal(selectionImageFolder(doc, '../assets'), path.join('/ws', 'assets'));
  assert.equal(selectionImageFolder(doc, '/tmp/pics'), '/tmp/pics');
  assert.equal(selectionImageFolder(doc, '~/pics'), path.join(process.env.HOME ?? '', 'pics'));
});

test('the link is relative to the document, percent-encoded, with the prompt as alt text', () => {
  const doc = '/ws/docs/guide.md';
  assert.equal(markdownImageLink(doc, '/ws/docs/a cat.png', 'a cat'), '![a cat](a%20cat.png)');
  assert.equal(markdownImageLink(doc, '/ws/docs/img/x (1).png', 'x'), '![x](img/x%20%281%29.png)');
  assert.equal(markdownImageLink(doc, '/ws/assets/é#?.png', 'y'), '![y](../assets/%C3%A9%23%3F.png)');
  // Brackets and backslashes cannot end the alt text; line breaks become spaces.
  assert.equal(markdownImageLink(doc, '/ws/docs/p.png', 'a [b]\n c\\d'), '![a \\[b\\] c\\\\d](p.png)');
});
