/**
 * The Redis keys of one namespace. Every key carries the hash tag `{roster:<ns>}`, so a
 * namespace lives in one cluster slot and each Lua script touches a single slot.
 */
export interface KeyLayout {
  /** Hash: node id → `<revision>\n<record bytes>` (see `record-frame.ts`). */
  readonly records: string;
  /** Sorted set: node id → deadline, epoch ms by the server clock. */
  readonly deadlines: string;
  /** Stream of changes (puts and deletes), capped with `MAXLEN ~`. */
  readonly changes: string;
  /** Counter: the namespace revision, incremented by every put and delete. */
  readonly seq: string;
  /** Hash: namespace settings (`ttl`, `layout`), checked at open. */
  readonly config: string;
  /** List of earlier values of one node, newest first. */
  history(id: string): string;
}

/** Version of this layout, stored in the config hash: a future incompatible layout is a mismatch. */
export const LAYOUT_VERSION = '1';

export function keyLayout(namespace: string): KeyLayout {
  const tag = `{roster:${namespace}}`;
  return {
    records: `${tag}:records`,
    deadlines: `${tag}:deadlines`,
    changes: `${tag}:changes`,
    seq: `${tag}:seq`,
    config: `${tag}:config`,
    history: (id) => `${tag}:history:${id}`,
  };
}
