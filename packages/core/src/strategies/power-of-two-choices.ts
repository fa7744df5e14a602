import { assertNotEmpty } from './no-nodes-available-error.js';
import { type RandomOptions, randomIndex } from './random-source.js';

/**
 * The power of two choices: draws two distinct nodes at random and keeps the less loaded one.
 * It spreads work almost as well as {@link leastLoaded} while avoiding its herd effect (clients
 * with the same view do not all pick the same node), in O(1) per pick.
 * Throws `NoNodesAvailableError` when `nodes` is empty.
 *
 * @example
 * ```ts
 * const node = powerOfTwoChoices(discovery.list({ metadata: { role: 'worker' } }));
 * ```
 */
export function powerOfTwoChoices<T extends { readonly load: number }>(
  nodes: readonly T[],
  options: RandomOptions = {},
): T {
  assertNotEmpty(nodes, 'power-of-two-choices');
  if (nodes.length === 1) return nodes[0];
  const draw = options.random ?? Math.random;
  const i = randomIndex(nodes.length, draw);
  // A second index drawn from the other n - 1 positions: the two choices are always distinct.
  let j = randomIndex(nodes.length - 1, draw);
  if (j >= i) j += 1;
  const a = nodes[i]!;
  const b = nodes[j]!;
  return b.load < a.load ? b : a;
}
