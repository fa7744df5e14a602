// The Redis keys of one namespace, all under one hash tag.
/**
 * The Redis keys of one namespace. Every key carries the hash tag `{roster:<ns>}`, so a
 * namespace lives in one cluster slot and each Lua script touches a single slot.
 */
export interface KeyLayout {
  /** Hash: node id → `<revision>\n<record bytes>` (see `record-frame.ts`). */
  readonly records: string;
  /**
   * Stream with consumer group {@link LIVENESS_GROUP}: one pending entry per stored record
   * (see `liveness-id.ts`); its idle time, by the server clock, is the time since the record's
   * last write or heartbeat.
   */
  readonly live: string;
  /** Stream of changes (puts and deletes), capped with `MAXLEN ~`. */
  readonly changes: string;
  /** Counter: the namespace revision, incremented by every put and delete. */
  readonly seq: string;
  /** Hash: namespace settings (`ttl`, `layout`), checked at open. */
  readonly config: string;
  /** String with a PX lease: the instance that sweeps expired records. */
  readonly sweeper: string;
  /** String with a PX lease: the instance that takes over when the sweeper stops renewing. */
  readonly standby: string;
  /**
   * Hash with a PX expiry, present only after a forward step of the server's clock was seen:
   * `step` (ms granted to every deadline, see `server-clock.ts`) and `at` (server time it was seen).
   */
  readonly clock: string;
  /** List of earlier values of one node, newest first. */
  history(id: string): string;
}

/**
 * Version of this layout, stored in the config hash: a namespace written by another layout is
 * a `ConfigMismatchError`. Layout 1 kept deadlines in a sorted set; layout 2 keeps liveness in a
 * stream's pending entries, so a heartbeat is one command and writes nothing.
 */
export const LAYOUT_VERSION = '2';

/** Consumer group (and consumer) of the liveness stream. */
export const LIVENESS_GROUP = 'roster';

export function keyLayout(namespace: string): KeyLayout {
  const tag = `{roster:${namespace}}`;
  return {
    records: `${tag}:records`,
    live: `${tag}:live`,
    changes: `${tag}:changes`,
    seq: `${tag}:seq`,
    config: `${tag}:config`,
    sweeper: `${tag}:sweeper`,
    standby: `${tag}:standby`,
    clock: `${tag}:clock`,
    history: (id) => `${tag}:history:${id}`,
  };
}
