import { assertNotEmpty } from './no-nodes-available-error.js';
import type { RandomOptions } from './random-source.js';

/**
 * Picks the node with the lowest `load`. Ties are broken at random so that clients sharing a
 * view do not all pile onto the same node. Throws `NoNodesAvailableError` when `nodes` is empty.
 *
 * Every caller sees the same minimum until the owners report new loads, so under many
 * concurrent clients prefer {@link powerOfTwoChoices}.
 *
 * @example
 * ```ts
 * const node = leastLoaded(discovery.list());
 * ```
 */
export function leastLoaded<T extends { readonly load: number }>(
  nodes: readonly T[],
  options: RandomOptions = {},
): T {
  assertNotEmpty(nodes, 'least-loaded');
  const draw = options.random ?? Math.random;
  let best = nodes[0];
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.load < best.load) {
      best = node;
      ties = 1;
    } else if (node.load === best.load) {
      // Reservoir sampling: each of the tied nodes ends up chosen with probability 1 / ties.
      ties += 1;
      if (draw() * ties < 1) best = node;
    }
  }
  return best;
}
