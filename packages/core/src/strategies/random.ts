import { assertNotEmpty } from './no-nodes-available-error.js';
import { type RandomOptions, randomIndex } from './random-source.js';

/**
 * Picks a node uniformly at random. Throws `NoNodesAvailableError` when `nodes` is empty.
 *
 * @example
 * ```ts
 * const node = random(discovery.list({ metadata: { role: 'api' } }));
 * ```
 */
export function random<T>(nodes: readonly T[], options: RandomOptions = {}): T {
  assertNotEmpty(nodes, 'random');
  return nodes[randomIndex(nodes.length, options.random ?? Math.random)]!;
}
