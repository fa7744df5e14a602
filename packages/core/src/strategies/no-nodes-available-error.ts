import { DiscoveryError } from '../errors.js';

/**
 * A strategy or picker was asked for a node while the set to choose from was empty
 * (no node registered, or none matches the filter).
 *
 * @example
 * ```ts
 * try { picker.pick(); }
 * catch (error) { if (error instanceof NoNodesAvailableError) return retryLater(); }
 * ```
 */
export class NoNodesAvailableError extends DiscoveryError {
  constructor(message = 'no nodes available to pick from; register a node or widen the filter') {
    super('ERR_NO_NODES', message);
  }
}

/** Throws `NoNodesAvailableError` for an empty list: callers then never see `undefined`. */
export function assertNotEmpty<T>(
  nodes: readonly T[],
  strategy: string,
): asserts nodes is readonly [T, ...T[]] {
  if (nodes.length === 0)
    throw new NoNodesAvailableError(
      `${strategy}: no nodes available to pick from; register a node or widen the filter`,
    );
}
