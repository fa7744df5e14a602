import type { NodeFilter } from './types/node-filter.js';
import type { NodeInfo } from './types/node-info.js';

/** True when every metadata pair of the filter matches the node. */
export function matchesFilter(node: NodeInfo, filter: NodeFilter | undefined): boolean {
  const wanted = filter?.metadata;
  if (!wanted) return true;
  for (const [key, value] of Object.entries(wanted)) {
    if (node.metadata[key] !== value) return false;
  }
  return true;
}
