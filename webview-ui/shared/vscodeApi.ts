/** The webview side of the message channel, typed with the shared union. */
import type { FromWebview, ToWebview } from './messages';

interface VsCodeApi {
  postMessage(m: FromWebview): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export const vscode = acquireVsCodeApi();

export function onMessage(handler: (m: ToWebview) => void): void {
  window.addEventListener('message', (e: MessageEvent<ToWebview>) => handler(e.data));
}

/** document.createElement with attributes and children; text is always set as text, never as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, string>,
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K];
export function el(tag: string, attrs?: Record<string, string>, ...children: Array<Node | string>): HTMLElement;
export function el(tag: string, attrs?: Record<string, string>, ...children: Array<Node | string>): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
