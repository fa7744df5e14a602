import { assertNotEmpty } from './no-nodes-available-error.js';
import { hash64, pairScore } from './rendezvous-hash.js';

/**
 * Rendezvous (highest-random-weight) hashing: the owner of `key` is the node whose
 * hash(key, node id) is highest. Every client with the same node set agrees on the owner without
 * coordination; when a node leaves, only the keys it owned move (each to its runner-up), and when
 * a node joins it takes about 1/n of the keys, from every other node evenly. The node list order
 * does not matter. Throws `NoNodesAvailableError` when `nodes` is empty.
 *
 * @example
 * ```ts
 * // All requests of one tenant land on the same cache node while the membership is stable.
 * const node = rendezvous(discovery.list({ metadata: { role: 'cache' } }), tenantId);
 * ```
 */
export function rendezvous<T extends { readonly id: string }>(nodes: readonly T[], key: string): T {
  if (typeof key !== 'string') throw new TypeError(`rendezvous needs a string key, got ${typeof key}`);
  assertNotEmpty(nodes, 'rendezvous');
  const keyHash = hash64(key);
  let best = nodes[0];
  let bestScore = pairScore(keyHash, hash64(best.id));
  for (let i = 1; i < nodes.length; i++) {
    const node = nodes[i]!;
    const score = pairScore(keyHash, hash64(node.id));
    // Equal scores are astronomically rare; the id breaks them so that the list order never matters.
    if (score > bestScore || (score === bestScore && node.id > best.id)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}
