import type { NamespaceInspection } from '@roster/core';
import type { MemoryStoreImpl } from './memory-store.js';

/**
 * `inspect()` of the memory backend: looks the namespace up in the store's registry without
 * opening it, so a read-only look never creates a namespace (and never fixes its ttl) for the
 * instances that open it later. Waits out a simulated pause as every other call does.
 */
export async function inspectMemoryNamespace(
  store: MemoryStoreImpl,
  name: string,
  requestTimeout: number,
): Promise<NamespaceInspection> {
  await store.reachable(requestTimeout);
  const namespace = store.find(name);
  return namespace ? { exists: true, ttl: namespace.ttl } : { exists: false };
}
