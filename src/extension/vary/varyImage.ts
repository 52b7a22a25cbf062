/**
 * Diffusion Studio: Vary Image (explorer and editor-title menus, palette): image-to-image from a file.
 * Asks for a prompt (prefilled with the image's own when its PNG has parameters) and a strength
 * (prefilled with diffusionStudio.varyStrength); the images go to the output folder and the results
 * panel. The input file is only read.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readSettings } from '../config';
import type { JobService, ResultItem } from '../jobs';
import { pickImage } from '../pickImage';
import { readPngInfo } from '../pngInfo/pngInfo';
import { parseStrength } from './strength';

export interface VaryArgs {
  prompt?: string;
  strength?: number | string;
}

export async function varyImage(jobs: JobService, showResults: () => void, uri?: unknown, args: VaryArgs = {}): Promise<ResultItem[] | undefined> {
  const image = await pickImage(uri, 'Vary Image');
  if (!image) return undefined;
  const name = vscode.workspace.asRelativePath(image);
  const prompt = args.prompt ?? (await askPrompt(image.fsPath, name));
  if (prompt === undefined) return undefined;
  const strength = args.strength !== undefined ? checked(String(args.strength)) : await askStrength(name);
  if (strength === undefined) return undefined;
  showResults();
  return jobs.generate({ prompt, initImage: image.fsPath, strength }, `${path.basename(image.fsPath)} ~ ${prompt || '(no prompt)'} · strength ${strength}`);
}

function checked(text: string): number {
  const r = parseStrength(text);
  if ('error' in r) throw new Error(`Vary Image: ${r.error}.`);
  return r.strength;
}

/** The prompt, prefilled with the one the image was made with (when its PNG says); Escape cancels. */
function askPrompt(file: string, name: string): Thenable<string | undefined> {
  let own = '';
  try {
    own = readPngInfo(file).prompt;
  } catch {
    // No parameters (a photo, a drawing, another format): the user describes it.
  }
  return vscode.window.showInputBox({
    title: `Vary ${name}`,
    prompt: own ? 'The prompt of the variation (prefilled with the image\'s own)' : 'Describe the variation (what the image should become)',
    value: own,
    placeHolder: 'e.g. a cat face in the snow',
    ignoreFocusOut: true,
  });
}

function askStrength(name: string): Thenable<number | undefined> {
  return vscode.window
    .showInputBox({
      title: `Vary ${name}: strength`,
      prompt: 'How much of the image is repainted: near 0 keeps it, 1 repaints it all',
      value: String(readSettings().varyStrength),
      ignoreFocusOut: true,
      validateInput: (v) => {
        const r = parseStrength(v);
        return 'error' in r ? r.error : undefined;
      },
    })
    .then((v) => (v === undefined ? undefined : checked(v)));
}
