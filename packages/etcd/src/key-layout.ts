// The etcd keys of one namespace: node, history, leave marker and config keys under one prefix.
import { InvalidOptionsError } from '@roster/core';
import { idProblem } from '@roster/core/spi';

const PREFIX_PATTERN = /^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/;

/** The default first segment of every key Roster writes. */
export const DEFAULT_PREFIX = 'roster';

/** What a key under the namespace is, or undefined for keys Roster does not own. */
export type ParsedKey =
  | { readonly kind: 'node'; readonly id: string }
  | { readonly kind: 'leave'; readonly id: string }
  | { readonly kind: 'history'; readonly id: string }
  | { readonly kind: 'invalid-node'; readonly key: string };

/**
 * Where things live in etcd, all under one prefix so that one `--prefix` role grant covers a namespace:
 *
 * - `<prefix>/<namespace>/config`        the namespace's settings (`{"v":1,"ttl":…}`), no lease
 * - `<prefix>/<namespace>/nodes/<id>`    one record per node, under that node's lease
 * - `<prefix>/<namespace>/history/<id>`  the record as of its last non-heartbeat write, same lease
 * - `<prefix>/<namespace>/leaves/<id>`   written in the same revision as an explicit delete, same lease
 */
export class KeyLayout {
  readonly namespacePrefix: Buffer;
  readonly nodesPrefix: Buffer;
  readonly config: Buffer;
  private readonly namespaceText: string;

  constructor(prefix: string, namespace: string) {
    if (!PREFIX_PATTERN.test(prefix))
      throw new InvalidOptionsError(
        `etcd prefix must be segments of A-Z a-z 0-9 _ . = - separated by single "/" (no leading or trailing "/"), got ${JSON.stringify(prefix)}`,
      );
    this.namespaceText = `${prefix}/${namespace}/`;
    this.namespacePrefix = Buffer.from(this.namespaceText);
    this.nodesPrefix = Buffer.from(`${this.namespaceText}nodes/`);
    this.config = Buffer.from(`${this.namespaceText}config`);
  }

  node(id: string): Buffer {
    return Buffer.from(`${this.namespaceText}nodes/${id}`);
  }

  history(id: string): Buffer {
    return Buffer.from(`${this.namespaceText}history/${id}`);
  }

  leave(id: string): Buffer {
    return Buffer.from(`${this.namespaceText}leaves/${id}`);
  }

  /** Classifies a key read from etcd. Keys under `nodes/` whose id is not valid are reported, not dropped silently. */
  parse(key: Buffer): ParsedKey | undefined {
    const text = key.toString('utf8');
    if (!text.startsWith(this.namespaceText)) return undefined;
    const rest = text.slice(this.namespaceText.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return undefined;
    const kind = rest.slice(0, slash);
    const id = rest.slice(slash + 1);
    if (kind === 'nodes')
      return idProblem(id) === undefined ? { kind: 'node', id } : { kind: 'invalid-node', key: text };
    if (idProblem(id) !== undefined) return undefined;
    if (kind === 'leaves') return { kind: 'leave', id };
    if (kind === 'history') return { kind: 'history', id };
    return undefined;
  }
}

/** The exclusive end of the range of every key starting with `prefix` (etcd's "prefix" range). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
