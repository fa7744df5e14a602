import type { NodeFilter } from './node-filter.js';

/** Options of {@link NodeDiscovery.watch}. */
export interface WatchOptions {
  /** Aborting ends the iterator (it completes, it does not throw). */
  signal?: AbortSignal;
  /** First a `joined` for every current node, then live changes. Default true. */
  includeExisting?: boolean;
  /**
   * Only nodes that match. A node that starts matching is `joined`; one that stops matching
   * is `left` with reason `unregistered` (it left the filtered set).
   */
  filter?: NodeFilter;
}
