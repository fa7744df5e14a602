import { differsBeyondLastSeen } from './record-codec.js';
import type { NodeInfo } from './types/node-info.js';

/** How many values core asks for per state wanted, at first and on each further round. */
const FETCH_FACTOR = 4;
/** The most values core reads for one `history()` call. */
const MAX_FETCH = 4_096;

/**
 * Reads up to `limit` states of a node, newest first. A plain heartbeat (only `lastSeen` moved)
 * is not a history entry (rule 12), but a backend may keep such writes in its history: core
 * asks for more values than states wanted, keeps the newest of each run that differs only in
 * `lastSeen`, and asks again for more while it has fewer than `limit` states and the backend
 * had more to give. `owned` is the owner's own view of the node: with silent heartbeats the
 * stored record keeps an older `lastSeen`, and the owner's newest state shows the exact one (rule 2).
 */
export async function readHistory(
  fetch: (count: number) => Promise<Uint8Array[]>,
  decode: (value: Uint8Array) => NodeInfo | undefined,
  limit: number,
  owned?: NodeInfo,
): Promise<NodeInfo[]> {
  const states = await collapsed(fetch, decode, limit);
  const first = states[0];
  if (
    owned &&
    first &&
    first.instanceId === owned.instanceId &&
    first.lastSeen < owned.lastSeen &&
    !differsBeyondLastSeen(owned, first)
  )
    states[0] = owned;
  return states;
}

async function collapsed(
  fetch: (count: number) => Promise<Uint8Array[]>,
  decode: (value: Uint8Array) => NodeInfo | undefined,
  limit: number,
): Promise<NodeInfo[]> {
  let ask = Math.max(limit, Math.min(MAX_FETCH, limit * FETCH_FACTOR));
  for (;;) {
    const values = await fetch(ask);
    const states: NodeInfo[] = [];
    for (const value of values) {
      const node = decode(value);
      if (!node) continue;
      const newer = states[states.length - 1];
      if (newer && !differsBeyondLastSeen(newer, node)) continue;
      states.push(node);
      if (states.length === limit) return states;
    }
    if (values.length < ask || ask >= MAX_FETCH) return states;
    ask = Math.min(MAX_FETCH, ask * FETCH_FACTOR);
  }
}
