/** Asking for prompts, with the recent ones offered first (kept in the extension's global state). */
import * as vscode from 'vscode';
import { readSettings } from './config';

const KEY = 'diffusionStudio.recentPrompts';

export class PromptHistory {
  constructor(private readonly state: vscode.Memento) {}

  get recent(): string[] {
    return this.state.get<string[]>(KEY, []);
  }

  async remember(prompt: string): Promise<void> {
    const limit = readSettings().recentPrompts;
    const list = [prompt, ...this.recent.filter((p) => p !== prompt)].slice(0, limit);
    await this.state.update(KEY, list);
  }

  /**
   * A quick pick whose first row is what the user typed and whose other rows are recent prompts.
   * Resolves undefined when dismissed.
   */
  ask(title: string, placeholder: string): Promise<string | undefined> {
    const qp = vscode.window.createQuickPick();
    qp.title = title;
    qp.placeholder = placeholder;
    qp.matchOnDescription = false;
    // Like the edit prompt: a webview or notification taking the focus must not throw away what the
    // user is typing (Escape still closes it).
    qp.ignoreFocusOut = true;
    const recentItems = this.recent.map((p) => ({ label: p, description: 'recent' }));
    qp.items = recentItems;
    qp.onDidChangeValue((v) => {
      const typed = v.trim() ? [{ label: v, description: 'new prompt', alwaysShow: true }] : [];
      qp.items = [...typed, ...recentItems.filter((i) => i.label !== v)];
    });
    return new Promise((resolve) => {
      let done = false;
      qp.onDidAccept(() => {
        const picked = qp.selectedItems[0]?.label ?? qp.value;
        done = true;
        qp.hide();
        resolve(picked.trim() || undefined);
      });
      qp.onDidHide(() => {
        qp.dispose();
        if (!done) resolve(undefined);
      });
      qp.show();
    });
  }
}
