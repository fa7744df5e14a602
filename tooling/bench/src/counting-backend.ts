import type { DiscoveryBackend } from '@roster/core';

/** What a {@link countingBackend} saw: client-side figures that every backend has. */
export interface BackendTally {
  /** Every `put` started (registrations, updates and heartbeats). */
  puts: number;
  /** `put`s with `refreshOnly`: core's plain heartbeats. */
  heartbeats: number;
  /** Changes the feed delivered to core (puts, deletes, resyncs). */
  changes: number;
}

/**
 * Wraps a backend to count what core asks of it and what its feed delivers, and to time each
 * plain heartbeat (`onHeartbeat` gets the key when core starts the `put`). Pass-through otherwise:
 * the wrapped backend's capabilities, results and errors are core's.
 */
export function countingBackend(
  inner: DiscoveryBackend,
  tally: BackendTally,
  onHeartbeat?: (key: string) => void,
): DiscoveryBackend {
  const backend: DiscoveryBackend = {
    get name() {
      return inner.name;
    },
    get supports() {
      return inner.supports;
    },
    open: (context) => inner.open(context),
    put(key, value, options) {
      tally.puts++;
      if (options?.refreshOnly) {
        tally.heartbeats++;
        onHeartbeat?.(key);
      }
      return inner.put(key, value, options);
    },
    delete: (key, condition) => inner.delete(key, condition),
    get: (key) => inner.get(key),
    list: () => inner.list(),
    watch: (cursor, onChange) =>
      inner.watch(cursor, (change) => {
        tally.changes++;
        onChange(change);
      }),
    close: () => inner.close(),
  };
  if (inner.history) {
    const history = inner.history.bind(inner);
    backend.history = (key, limit) => history(key, limit);
  }
  return backend;
}

export const newTally = (): BackendTally => ({ puts: 0, heartbeats: 0, changes: 0 });
