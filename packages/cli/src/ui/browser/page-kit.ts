// The dashboard page's small helpers: finding and making elements, reading values of any shape,
// and writing times, ages and loads. Runs in the browser (see ../page-script.ts): self-contained.
import type { NodeInfo } from '@roster/core';
import type { PageState } from './page-state.js';

export interface PageKit {
  /** The page's element `#id`; throws if the page lacks it. */
  byId<T extends HTMLElement>(id: string): T;
  /** A new element; its text goes in as `textContent`, never as markup. */
  make(tag: string, className?: string, text?: string): HTMLElement;
  /** A string for any value ('' for none): the server sends user data, of any shape. */
  str(value: unknown): string;
  /** A finite number, or 0. */
  num(value: unknown): number;
  metadataOf(node: NodeInfo): [string, string][];
  /** A duration: 850ms, 12s, 3m05s, 2h07m, 1d3h. */
  span(ms: number): string;
  /** How long ago (or in how long) `at` is, on the CLI's clock. */
  ago(at: number): string;
  /** hh:mm:ss. */
  clock(at: number): string;
  loadText(load: number): string;
}

export function pageKit(state: PageState): PageKit {
  const byId = <T extends HTMLElement>(id: string): T => {
    const found = document.getElementById(id);
    if (!found) throw new Error(`the page has no #${id}`);
    return found as T;
  };
  const make = (tag: string, className?: string, text?: string): HTMLElement => {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  };
  const now = () => Date.now() + state.offset;
  const str = (value: unknown): string =>
    typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
  const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const metadataOf = (node: NodeInfo): [string, string][] =>
    node.metadata && typeof node.metadata === 'object'
      ? Object.entries(node.metadata).map(([key, value]) => [key, str(value)])
      : [];

  function span(ms: number): string {
    const abs = Math.abs(ms);
    if (abs < 1_000) return `${Math.round(abs)}ms`;
    if (abs < 60_000) return `${Math.floor(abs / 1_000)}s`;
    const minutes = Math.floor(abs / 60_000);
    if (minutes < 60) return `${minutes}m${String(Math.floor((abs % 60_000) / 1_000)).padStart(2, '0')}s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
    return `${Math.floor(hours / 24)}d${hours % 24}h`;
  }
  function ago(at: number): string {
    const delta = now() - at;
    if (Math.abs(delta) < 1_000) return 'just now';
    return delta > 0 ? `${span(delta)} ago` : `in ${span(delta)}`;
  }
  function clock(at: number): string {
    const date = new Date(at);
    return [date.getHours(), date.getMinutes(), date.getSeconds()]
      .map((part) => String(part).padStart(2, '0'))
      .join(':');
  }
  function loadText(load: number): string {
    return load >= 10 ? String(Math.round(load)) : String(Math.round(load * 100) / 100);
  }
  return { byId, make, str, num, metadataOf, span, ago, clock, loadText };
}
