import { assertNotEmpty } from './no-nodes-available-error.js';

/** A stateful round-robin picker returned by {@link roundRobin}. */
export interface RoundRobin {
  /** The node after the one picked last, in id order, wrapping around. */
  pick<T extends { readonly id: string }>(nodes: readonly T[]): T;
}

/**
 * Round-robin over node ids. The cursor is the id picked last, not a position, so a node that
 * joins or leaves between picks neither resets the rotation nor makes another node be skipped
 * or picked twice in a row: every node present for a full turn is picked exactly once per turn,
 * whatever order the list comes in.
 *
 * @example
 * ```ts
 * const rr = roundRobin();
 * const a = rr.pick(discovery.list());
 * const b = rr.pick(discovery.list()); // the next node by id
 * ```
 */
export function roundRobin(): RoundRobin {
  let last: string | undefined;
  return {
    pick<T extends { readonly id: string }>(nodes: readonly T[]): T {
      assertNotEmpty(nodes, 'round-robin');
      // One pass, no sort: the smallest id after `last`, else the smallest id (wrap around).
      let first = nodes[0];
      let next: T | undefined;
      for (const node of nodes) {
        if (node.id < first.id) first = node;
        if (last !== undefined && node.id > last && (next === undefined || node.id < next.id)) next = node;
      }
      const chosen = next ?? first;
      last = chosen.id;
      return chosen;
    },
  };
}
