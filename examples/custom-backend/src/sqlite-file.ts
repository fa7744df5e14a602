// Sharing one SQLite file between processes: loading the library, transactions, waiting out
// another process's lock, and breaking the lock of a process that died holding it.
import { rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendUnavailableError } from '@roster/core';
import type { Database } from 'node-sqlite3-wasm';

// node-sqlite3-wasm is SQLite compiled to WebAssembly (nothing to compile at install time). It is
// CommonJS without named exports that Node's ESM loader can see, so it is loaded with require.
export const sqlite = createRequire(import.meta.url)(
  'node-sqlite3-wasm',
) as typeof import('node-sqlite3-wasm');

/**
 * How long a call keeps retrying while another process holds the file's lock (SQLite's busy
 * timeout cannot wait inside WebAssembly, so the backend waits between attempts itself).
 */
const BUSY_TIMEOUT = 5_000;
/**
 * node-sqlite3-wasm locks the file with a directory next to it (`<path>.lock`, as SQLite's
 * unix-dotfile VFS does). A process killed while holding it leaves it behind. No transaction of
 * this backend holds the lock for more than a few ms, so a lock this old belongs to a dead process.
 */
const STALE_LOCK_AFTER = 2_000;

/** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
export function transaction<T>(db: Database, mode: 'DEFERRED' | 'IMMEDIATE', work: () => T): T {
  db.exec(`BEGIN ${mode}`);
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/**
 * Runs `work` (synchronous, so no other call of this process interleaves with it) and tries
 * again while another process holds the lock of the file at `path`, up to BUSY_TIMEOUT.
 */
export async function retryBusy<T>(path: string, work: () => T): Promise<T> {
  const deadline = Date.now() + BUSY_TIMEOUT;
  for (let attempt = 0; ; attempt++) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() >= deadline)
        throw new BackendUnavailableError(`sqlite file ${path} stayed locked for ${BUSY_TIMEOUT} ms`, {
          cause: error,
        });
      breakStaleLock(path);
      await sleep(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
    }
  }
}

export function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|database is busy/.test(error.message);
}

/** Removes the lock directory of a process that died holding it (see STALE_LOCK_AFTER). */
export function breakStaleLock(path: string): void {
  const lock = `${path}.lock`;
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_AFTER) rmdirSync(lock);
  } catch {
    // Gone already (released, or another process broke it first).
  }
}
