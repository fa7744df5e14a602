// Leaving a NATS server that stopped answering (frozen, hung, cut off) for another cluster member.
import type { ReconnectToServerHandler, Server } from '@nats-io/transport-node';

/** nats.js's own ping interval: a frozen server is noticed after 2-3 of these, 4-6 minutes. */
const NATS_DEFAULT_PING_INTERVAL = 120_000;
/** Below this, pings would mostly measure a busy event loop (ours or the server's), not a frozen server. */
const MIN_PING_INTERVAL = 1_000;

/**
 * Ms between our pings to the server, for a namespace with this ttl.
 *
 * A frozen server keeps its socket open (its kernel still acknowledges our packets), so only an
 * unanswered ping tells it apart from a quiet one: nats.js drops the connection when
 * `maxPingOut` (2) pings are outstanding at the next tick, 2-3 intervals after the last pong.
 * With ttl / 10 that is 0.2-0.3 ttl: an owner stuck on a frozen member moves to a member that
 * still serves before its next heartbeat (every ttl / 3) is due, long before its nodes would
 * expire on the members still serving (rule 4 of docs/guarantees.md).
 */
export function pingIntervalFor(ttl: number): number {
  return Math.min(NATS_DEFAULT_PING_INTERVAL, Math.max(MIN_PING_INTERVAL, Math.floor(ttl / 10)));
}

/**
 * Picks the server to dial: the one dialed least recently (never dialed first), pool order
 * breaking ties. nats.js would otherwise dial the server it just lost first, and a frozen server
 * still accepts the TCP connection and then never greets: each such attempt costs the whole
 * connect `timeout` before nats.js tries the next member. On the first connect (no server info
 * yet) and with a single server, nats.js's own choice stands.
 */
export const leastRecentlyDialed: ReconnectToServerHandler = (pool, info) => {
  if (info === null || pool.length < 2) return null;
  let pick: Server | undefined;
  for (const server of pool) if (pick === undefined || server.lastConnect < pick.lastConnect) pick = server;
  return pick === undefined || pick === pool[0] ? null : pick;
};
