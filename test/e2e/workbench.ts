/**
 * Driving the VS Code workbench (code-server in Chromium) with playwright-core: the command palette,
 * quick inputs, the explorer's context menu, webviews (nested iframes) and screenshots.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export interface E2eEnv {
  serverUrl: string;
  port: number;
  workspace: string;
  extensionPath: string;
  artifacts: string;
  chromium: string;
  chromiumArgs: string[];
}

/** The environment scripts/e2e/run.mjs sets up; undefined when the tests are run some other way. */
export function e2eEnv(): E2eEnv | undefined {
  const raw = process.env.DS_E2E_ENV;
  return raw ? (JSON.parse(raw) as E2eEnv) : undefined;
}

export class Workbench {
  private constructor(
    readonly browser: Browser,
    readonly page: Page,
    readonly env: E2eEnv,
  ) {}

  static async open(env: E2eEnv): Promise<Workbench> {
    const browser = await chromium.launch({ executablePath: env.chromium, args: env.chromiumArgs });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const wb = new Workbench(browser, page, env);
    const remote = (p: string) => `vscode-remote://127.0.0.1:${env.port}${p}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(env.extensionPath)]]);
    await page.goto(`${env.serverUrl}/?folder=${encodeURIComponent(env.workspace)}&payload=${encodeURIComponent(payload)}`);
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    // The extension's status-bar item appears once it is activated (onStartupFinished).
    await page.locator('.statusbar-item', { hasText: 'Diffusion' }).first().waitFor({ timeout: 60_000 });
    return wb;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(this.env.artifacts, { recursive: true });
    const file = path.join(this.env.artifacts, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Runs a command by its palette title, retrying until the extension host has registered it. */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.focusWorkbench();
      await this.page.keyboard.press('F1');
      const input = this.page.locator('.quick-input-widget .quick-input-box input:visible');
      // A webview that has just taken focus (an image preview opened a moment ago) can swallow F1
      // under load instead of forwarding it to the workbench: press it again rather than wait on it.
      const opened = await input.waitFor({ timeout: 5000 }).then(() => true, () => false);
      if (!opened) {
        if (Date.now() > end) {
          await this.screenshot(`failed-palette-${title.replace(/\W+/g, '-')}`);
          throw new Error(`F1 did not open the command palette (for "${title}")`);
        }
        continue;
      }
      await input.fill(`>${title}`, { timeout: 5000 }).catch(() => undefined);
      const row = this.page.locator('.quick-input-list .monaco-list-row').filter({ has: this.label(title) });
      try {
        await row.first().waitFor({ timeout: 3000 });
        await row.first().click({ timeout: 2000 }); // a re-rendering list: retry from the top
        return;
      } catch (err) {
        if (Date.now() > end) {
          await this.screenshot(`failed-command-${title.replace(/\W+/g, '-')}`);
          throw new Error(`command "${title}" not found in the palette`, { cause: err });
        }
      }
    }
  }

  /**
   * Runs a command that opens a quick input and waits for that input (known by its title or
   * placeholder) to be the one showing. The palette and the command's own picker share one widget and
   * one <input>: typing before the palette has closed types into the palette, and a click on a palette
   * list that re-renders can land on another command. So: run, wait for the named input, else run again.
   */
  async openQuickInput(command: string, opened: RegExp, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    const title = this.page.locator('.quick-input-widget:visible .quick-input-title');
    const input = this.page.locator('.quick-input-widget:visible .quick-input-box input');
    const showing = async () => {
      const t = (await title.textContent({ timeout: 500 }).catch(() => '')) ?? '';
      const p = (await input.getAttribute('placeholder', { timeout: 500 }).catch(() => '')) ?? '';
      return opened.test(t) || opened.test(p);
    };
    for (;;) {
      await this.runCommand(command, Math.max(5000, end - Date.now()));
      for (const waitUntil = Date.now() + 10_000; Date.now() < waitUntil; ) {
        if (await showing()) return;
        await this.page.waitForTimeout(250);
      }
      if (Date.now() > end) {
        await this.screenshot(`failed-quick-input-${command.replace(/\W+/g, '-')}`);
        throw new Error(`"${command}" did not open a quick input matching ${opened}`);
      }
    }
  }

  /** Shows the Diffusion Studio side panel (its activity-bar container) and returns its webview frame. */
  async showSidePanel(): Promise<Frame> {
    await this.page.locator('.activitybar .action-item a[aria-label^="Diffusion Studio"]').first().click();
    return this.webviewFrame('#generate');
  }

  /** A list row's label (explorer, quick pick) whose whole text is `text`. */
  private label(text: string) {
    return this.page.locator('.label-name', { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
  }

  /** Moves keyboard focus out of any webview (a webview keeps F1 and Escape to itself). */
  async focusWorkbench(): Promise<void> {
    await this.page.locator('.part.statusbar').click({ position: { x: 700, y: 5 } }).catch(() => undefined);
    await this.page.keyboard.press('Escape');
  }

  /** Types into the open quick input (quick pick or input box) and presses Enter. */
  async answerQuickInput(text: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input:visible');
    await input.waitFor().catch(async (err: Error) => {
      await this.screenshot('failed-quick-input');
      throw err;
    });
    await input.fill(text);
    await this.page.waitForTimeout(200);
    await input.press('Enter');
  }

  /** Picks a row of the open quick pick by its label. */
  async pickQuickItem(label: string | RegExp, timeoutMs = 30_000): Promise<void> {
    const row = this.page.locator('.quick-input-list .monaco-list-row').filter({ hasText: label });
    await row.first().waitFor({ timeout: timeoutMs });
    await row.first().click();
  }

  /** The content frame of the webview whose document has `selector` (webviews are nested iframes). */
  async webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (const f of this.page.frames()) {
        if (f === this.page.mainFrame()) continue;
        const found = await f
          .locator(selector)
          .count()
          .catch(() => 0);
        if (found > 0) return f;
      }
      if (Date.now() > end) throw new Error(`no webview with ${selector} within ${timeoutMs} ms`);
      await this.page.waitForTimeout(250);
    }
  }

  /** Right-clicks an explorer row by its label and clicks a context-menu entry. */
  async explorerContextMenu(label: string, entry: string): Promise<void> {
    const row = this.page.locator('.explorer-folders-view .monaco-list-row').filter({ has: this.label(label) });
    await row.first().click({ button: 'right' });
    const item = this.page.locator('.monaco-menu .action-item', { hasText: entry }).first();
    await item.waitFor();
    // A menu ignores clicks in its first moments (against accidental picks); settle, click, and fall
    // back to the keyboard if it is still open.
    await this.page.waitForTimeout(400);
    await item.click();
    await this.page.waitForTimeout(300);
    if (await item.isVisible()) {
      await item.hover();
      await this.page.keyboard.press('Enter');
    }
  }

  /** Expands an explorer folder by clicking its row (no-op when its child is already visible). */
  async expandFolder(label: string, child: string): Promise<void> {
    const childRow = this.page.locator('.explorer-folders-view .monaco-list-row').filter({ has: this.label(child) });
    if ((await childRow.count()) > 0) return;
    await this.page.locator('.explorer-folders-view .monaco-list-row').filter({ has: this.label(label) }).first().click();
    await childRow.first().waitFor();
  }

  /**
   * Every notification of this window, from the notification center (toasts hide after a while, and
   * a window without focus may never show one): opens the center, reads it, closes it.
   */
  async allNotifications(screenshot?: string): Promise<string[]> {
    await this.runCommand('Notifications: Show Notifications');
    const center = this.page.locator('.notifications-center');
    await center.waitFor({ timeout: 5000 });
    const texts = await center.locator('.notification-list-item-message').allInnerTexts();
    if (screenshot) await this.screenshot(screenshot);
    await this.focusWorkbench(); // Escape closes the center
    return texts;
  }

  /** Opens a workspace file by name through Go to File (keyboard route) and waits for its editor tab. */
  async openFile(name: string): Promise<void> {
    await this.openQuickInput('Go to File...', /Search files by name/);
    await this.page.locator('.quick-input-widget .quick-input-box input:visible').fill(name);
    await this.pickQuickItem(name);
    await this.page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
  }

  /** The active text editor's visible text (Monaco renders spaces as no-break spaces). */
  async editorText(): Promise<string> {
    const text = await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText();
    return text.replace(/\u00a0/g, ' ');
  }

  /** Selects the first occurrence of `text` in the active editor with Find (Ctrl+F, Enter, Escape). */
  async selectInEditor(text: string): Promise<void> {
    await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+Home');
    await this.page.keyboard.press('Control+f');
    const find = this.page.locator('.editor-group-container.active .find-widget.visible textarea, .editor-group-container.active .find-widget.visible input').first();
    await find.waitFor();
    await find.fill(text);
    // Enter goes to the next match from the cursor (the top): "1 of N" once it is selected.
    await find.press('Enter');
    await this.page.locator('.editor-group-container.active .find-widget .matchesCount', { hasText: /^1 of \d+$/ }).waitFor();
    await find.press('Escape');
    await this.page.locator('.editor-group-container.active .find-widget.visible').waitFor({ state: 'hidden' });
    await this.page.locator('.editor-group-container.active .monaco-editor .selected-text').first().waitFor();
  }

  /** Reloads the window (Developer: Reload Window) and waits for the workbench and the extension again. */
  async reload(): Promise<void> {
    await this.runCommand('Developer: Reload Window');
    await this.page.waitForEvent('load', { timeout: 60_000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    await this.page.locator('.statusbar-item', { hasText: 'Diffusion' }).first().waitFor({ timeout: 60_000 });
  }

  /** Clicks a button of the modal dialog that is showing. */
  async dialogButton(label: string, timeoutMs = 30_000): Promise<void> {
    const button = this.page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: label }).first();
    await button.waitFor({ timeout: timeoutMs });
    await button.click();
    await button.waitFor({ state: 'detached', timeout: timeoutMs });
  }

  /** Text of the visible notification toasts. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notification-toast .notification-list-item-message').allInnerTexts();
  }
}
