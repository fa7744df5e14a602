// The dashboard page's filter box: `key=value` pairs that must all match a node's metadata, and
// words that must appear in its id or address. Runs in the browser (see ../page-script.ts).
import type { NodeInfo } from '@roster/core';
import type { PageKit } from './page-kit.js';

export interface FilterQuery {
  pairs: [string, string][];
  words: string[];
}

export interface NodeFilter {
  /** What the box says now. */
  parse(): FilterQuery;
  matches(node: NodeInfo, filter: FilterQuery): boolean;
}

/** `onChange` runs on every edit of the box. */
export function nodeFilter(kit: PageKit, onChange: () => void): NodeFilter {
  const { str, metadataOf } = kit;
  const input = kit.byId<HTMLInputElement>('filter');
  function parse(): FilterQuery {
    const pairs: [string, string][] = [];
    const words: string[] = [];
    for (const token of input.value.split(/[\s,]+/)) {
      if (token === '') continue;
      const at = token.indexOf('=');
      if (at > 0) pairs.push([token.slice(0, at), token.slice(at + 1)]);
      else words.push(token.toLowerCase());
    }
    return { pairs, words };
  }
  function matches(node: NodeInfo, filter: FilterQuery): boolean {
    const metadata = new Map(metadataOf(node));
    for (const [key, value] of filter.pairs) if (metadata.get(key) !== value) return false;
    const haystack = `${str(node.id)} ${str(node.address)}`.toLowerCase();
    return filter.words.every((word) => haystack.includes(word));
  }
  input.addEventListener('input', () => onChange());
  return { parse, matches };
}
