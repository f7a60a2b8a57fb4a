/** Small DOM and formatting helpers: the page builds its elements with these, never from HTML strings. */
import type { ProviderCost } from '../../src/dashboard/protocol.js';

type Attributes = Record<string, string | number | boolean | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes))
    if (value !== undefined && value !== false) element.setAttribute(name, String(value));
  for (const child of children) element.append(child);
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Sets text only when it changed: most cells do not change between updates. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** `1h 02m`, `3m 05s`, `12s`, `0.4s`. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 10_000) return `${(abs / 1000).toFixed(1)}s`;
  const s = Math.floor(abs / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function ago(ms: number): string {
  return ms < 1000 ? 'just now' : `${duration(ms)} ago`;
}

export function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`;
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  return `${(value / 1024 ** 3).toFixed(2)} GiB`;
}

export const count = (value: number) => value.toLocaleString('en-US');

/** What providers cost, one row each: batches and the tokens they reported (what GET /api/sessions/:id and /metrics give too). */
export function costTable(byProvider: Readonly<Record<string, ProviderCost>>): HTMLElement {
  const providers = Object.entries(byProvider).sort(([a], [b]) => a.localeCompare(b));
  if (providers.length === 0) return el('p', { class: 'muted' }, 'No provider has answered yet.');
  const head = ['provider', 'batches', 'input', 'output', 'cache read', 'cache write'];
  return el(
    'table',
    { class: 'costs' },
    el('tr', {}, ...head.map((title) => el('th', {}, title))),
    ...providers.map(([provider, cost]) =>
      el(
        'tr',
        { 'data-provider': provider },
        el('td', {}, provider),
        ...[cost.batches, cost.inputTokens, cost.outputTokens, cost.cacheReadTokens, cost.cacheWriteTokens].map((n) =>
          el('td', {}, count(n)),
        ),
      ),
    ),
  );
}

/** Local wall-clock time, with the date when it is not today. */
export function clock(at: number): string {
  const date = new Date(at);
  const time = date.toLocaleTimeString('en-GB', { hour12: false });
  return date.toDateString() === new Date().toDateString() ? time : `${date.toISOString().slice(0, 10)} ${time}`;
}
