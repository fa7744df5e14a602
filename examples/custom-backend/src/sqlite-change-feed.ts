// The change feed of one watch: polling the `changes` table of a namespace after a cursor.
import type { BackendChange } from '@roster/core/spi';
import type { Database } from 'node-sqlite3-wasm';
import { breakStaleLock, isBusy } from './sqlite-file.js';
import type { ChangeRow } from './sqlite-schema.js';

/** Where a feed reads: the open database, its file (for its lock) and the namespace. */
export interface ChangeSource {
  db: Database;
  path: string;
  namespace: string;
  pollInterval: number;
}

/**
 * Delivers every change of the namespace after revision `position`, in order, polling every
 * `pollInterval` ms; a `resync` when the log was trimmed past it or cannot be read (core then lists
 * again and opens a new feed). Returns the function that stops it.
 */
export function pollChanges(
  source: ChangeSource,
  position: number,
  onChange: (change: BackendChange) => void,
): () => void {
  const { db, path, namespace } = source;
  let stopped = false;
  const poll = () => {
    if (stopped || !db.isOpen) return;
    let rows: ChangeRow[];
    try {
      const first = (db.get('SELECT MIN(revision) AS revision FROM changes') as { revision: number | null })
        .revision;
      // The log was trimmed past our cursor: continuity is lost.
      if (first !== null && first > position + 1 && position > 0) {
        const firstOfOurs = db.get(
          'SELECT MIN(revision) AS revision FROM changes WHERE namespace = ? AND revision > ?',
          [namespace, position],
        ) as { revision: number | null };
        if (firstOfOurs.revision === null || firstOfOurs.revision > first) {
          stopped = true;
          onChange({ type: 'resync', reason: 'the change log was trimmed past the cursor' });
          return;
        }
      }
      rows = db.all(
        'SELECT revision, type, key, value, reason FROM changes WHERE namespace = ? AND revision > ? ORDER BY revision LIMIT 1000',
        [namespace, position],
      ) as unknown as ChangeRow[];
    } catch (error) {
      if (isBusy(error)) return breakStaleLock(path); // another process writes: next tick
      // Anything else: give up this feed; core lists again and opens a new one.
      stopped = true;
      onChange({ type: 'resync', reason: `reading the change log failed: ${String(error)}` });
      return;
    }
    for (const row of rows) {
      if (stopped) return;
      position = row.revision;
      onChange(
        row.type === 'put'
          ? { type: 'put', key: row.key, value: row.value ?? new Uint8Array(), revision: row.revision }
          : { type: 'delete', key: row.key, revision: row.revision, reason: row.reason ?? undefined },
      );
    }
  };
  const timer = setInterval(poll, source.pollInterval);
  queueMicrotask(poll);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
