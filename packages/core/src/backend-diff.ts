import { decodeRecord } from './record-codec.js';
import type { DiscoveryBackend } from './spi/discovery-backend.js';
import type { NodeInfo } from './types/node-info.js';

/** How two stores' views of a namespace differ (`lastSeen` aside: heartbeats land at different moments). */
export interface BackendDiff {
  /** Nodes the first store has and the second lacks. */
  readonly missing: readonly string[];
  /** Nodes the second store has and the first lacks. */
  readonly extra: readonly string[];
  /** Nodes both have with another instanceId, address, metadata or load. */
  readonly changed: readonly {
    readonly id: string;
    readonly expected: NodeInfo;
    readonly actual: NodeInfo;
  }[];
  /** True when there is no difference. */
  readonly equal: boolean;
}

async function nodesOf(backend: DiscoveryBackend): Promise<Map<string, NodeInfo>> {
  const nodes = new Map<string, NodeInfo>();
  for (const entry of (await backend.list()).entries) {
    const decoded = decodeRecord(entry.key, entry.value);
    if (decoded.ok) nodes.set(entry.key, decoded.node);
  }
  return nodes;
}

function same(a: NodeInfo, b: NodeInfo): boolean {
  return (
    a.instanceId === b.instanceId &&
    a.address === b.address &&
    a.load === b.load &&
    a.registeredAt === b.registeredAt &&
    JSON.stringify(Object.entries(a.metadata).sort()) === JSON.stringify(Object.entries(b.metadata).sort())
  );
}

/**
 * Compares the valid records of two opened backends (foreign values are ignored on both sides).
 *
 * @example
 * ```ts
 * const diff = await diffBackends(oldBackend, newBackend);
 * if (!diff.equal) console.log(diff.missing, diff.extra, diff.changed);
 * ```
 */
export async function diffBackends(
  expected: DiscoveryBackend,
  actual: DiscoveryBackend,
): Promise<BackendDiff> {
  const [a, b] = await Promise.all([nodesOf(expected), nodesOf(actual)]);
  const missing = [...a.keys()].filter((id) => !b.has(id)).sort();
  const extra = [...b.keys()].filter((id) => !a.has(id)).sort();
  const changed = [...a]
    .filter(([id, node]) => b.has(id) && !same(node, b.get(id)!))
    .map(([id, node]) => ({ id, expected: node, actual: b.get(id)! }))
    .sort((x, y) => (x.id < y.id ? -1 : 1));
  return { missing, extra, changed, equal: missing.length + extra.length + changed.length === 0 };
}
