// How a ttl in ms maps onto etcd leases, which count whole seconds: the lease plan.
/**
 * How a ttl in ms maps onto etcd leases, which count whole seconds from the moment the server
 * receives a grant or a keep-alive.
 *
 * - `lease`: each key's lease has TTL `floor(ttl / 1000)` s and the keep-alive of every write is
 *   sent `ttl mod 1000` ms after the write started, so the server's deadline lands at
 *   start + ttl (plus the trip to the server), whole seconds or not. The write resolves only once
 *   that keep-alive was answered: a process that dies before sending it never saw the write
 *   succeed, and its node expires ttl after the previous one. etcd's lessor finds an expired lease
 *   within ~500 ms and deletes its keys: expiry lands well inside `ttl + max(1 s, ttl / 4)`.
 *   A plain heartbeat is then a keep-alive alone: no revision, no watch event.
 * - `observed`: the server's minimum lease (1.5 × election timeout, rounded up: 2 s on a default
 *   server) is above `floor(ttl / 1000)`, so no lease can end at ttl. Heartbeats are record
 *   writes, and each observer expires a record whose revision it has held for ttl by its own
 *   clock (compare-and-set delete); the lease (the server's minimum) only collects what no
 *   observer removed.
 */
export interface LeasePlan {
  readonly mode: 'lease' | 'observed';
  /** TTL of every key's lease, in seconds. */
  readonly seconds: number;
  /** Ms after a write started at which its keep-alive is sent. */
  readonly keepAliveDelay: number;
}

/** The lease TTL to probe the server with: the longest whole-second lease that ends no later than ttl. */
export function requestedSeconds(ttl: number): number {
  return Math.max(1, Math.floor(ttl / 1000));
}

/** The plan for `ttl`, given what the server granted when asked for {@link requestedSeconds}. */
export function planLeases(ttl: number, grantedSeconds: number): LeasePlan {
  const requested = requestedSeconds(ttl);
  if (grantedSeconds <= requested)
    return { mode: 'lease', seconds: requested, keepAliveDelay: ttl - requested * 1000 };
  return { mode: 'observed', seconds: grantedSeconds, keepAliveDelay: 0 };
}
