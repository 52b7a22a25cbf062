/**
 * Generate Image from Selection, the parts without VS Code (unit tests run them): the prompt a selection
 * gives, the folder the image goes to, and the Markdown image link put in place of the selection.
 * Decisions (docs/EXTENSION.md): the link's path is relative to the document and percent-encoded; the
 * prompt is the alt text.
 */
import * as path from 'node:path';
import { GenerateParams } from '../../protocol';

const MAX_PROMPT = GenerateParams.shape.prompt.maxLength ?? 10_000;

/** The prompt of a selection (whitespace collapsed), or the reason there is none. */
export function selectionPrompt(text: string): { prompt: string } | { error: string } {
  const prompt = text.replace(/\s+/g, ' ').trim();
  if (!prompt) return { error: 'select the text that describes the image first (the selection is empty)' };
  if (prompt.length > MAX_PROMPT) return { error: `the selection is ${prompt.length} characters long; a prompt may have at most ${MAX_PROMPT}` };
  return { prompt };
}

/**
 * The folder the image is written to: `setting` resolved against the document's folder ('.' = next to
 * the document), an absolute setting as it is, `~/` from the home folder.
 */
export function selectionImageFolder(documentPath: string, setting: string): string {
  const s = setting.trim() || '.';
  const expanded = s.startsWith('~/') ? path.join(process.env.HOME ?? '', s.slice(2)) : s;
  return path.resolve(path.dirname(documentPath), expanded);
}

/** `![alt](relative/encoded%20path.png)`: the image's path relative to the document, each segment encoded. */
export function markdownImageLink(documentPath: string, imagePath: string, prompt: string): string {
  const rel = path.relative(path.dirname(documentPath), imagePath).split(path.sep);
  const href = rel.map(encodeSegment).join('/');
  return `![${escapeAlt(prompt)}](${href})`;
}

/** encodeURIComponent, plus the characters that end or confuse a Markdown link destination. */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[()'!*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Alt text on one line, with the brackets and backslashes that would end it escaped. */
function escapeAlt(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/[\\[\]]/g, (c) => `\\${c}`);
}
