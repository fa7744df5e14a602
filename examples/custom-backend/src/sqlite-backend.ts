import { rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendUnavailableError, ConfigMismatchError, DiscoveryClosedError } from '@roster/core';
import {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  type BackendChange,
  type BackendEntry,
  BackendLifecycle,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  type DiscoveryBackend,
  type PutOptions,
  type PutResult,
  revisionCursor,
  type WriteCondition,
} from '@roster/core/spi';
import type { Database } from 'node-sqlite3-wasm';

// node-sqlite3-wasm is SQLite compiled to WebAssembly (nothing to compile at install time). It is
// CommonJS without named exports that Node's ESM loader can see, so it is loaded with require.
const sqlite = createRequire(import.meta.url)('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');

/** Options of {@link sqliteBackend}. */
export interface SqliteBackendOptions {
  /** The database file, shared by every process of the cluster (on one host). */
  path: string;
  namespace?: string;
  /** How often the change feed and the expiry sweep look at the database, in ms. Default 25. */
  pollInterval?: number;
}

const HISTORY_DEPTH = 10;
const CHANGES_KEPT = 10_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS namespaces (namespace TEXT PRIMARY KEY, ttl INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS records (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    revision INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key));
  CREATE INDEX IF NOT EXISTS records_by_deadline ON records (namespace, expires_at);
  CREATE TABLE IF NOT EXISTS changes (
    revision INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL,
    type TEXT NOT NULL, key TEXT NOT NULL, value BLOB, reason TEXT);
  CREATE INDEX IF NOT EXISTS changes_by_namespace ON changes (namespace, revision);
  CREATE TABLE IF NOT EXISTS history (
    namespace TEXT NOT NULL, key TEXT NOT NULL, revision INTEGER NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (namespace, key, revision));
`;

interface ChangeRow {
  revision: number;
  type: 'put' | 'delete';
  key: string;
  value: Uint8Array | null;
  reason: 'unregistered' | 'expired' | null;
}

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

/**
 * A Roster backend on one SQLite file: processes on one host share a cluster. Records carry a
 * deadline; every process sweeps the expired ones in a transaction and writes the `expired`
 * deletes into a change log, which each watcher polls from its cursor.
 *
 * @example
 * ```ts
 * const discovery = await createDiscovery({ backend: sqliteBackend({ path: '/var/run/roster.db' }) });
 * ```
 */
export function sqliteBackend(options: SqliteBackendOptions): DiscoveryBackend {
  const namespace = options.namespace ?? 'default';
  assertValidNamespace(namespace);
  return new SqliteBackend(options.path, namespace, options.pollInterval ?? 25);
}

class SqliteBackend implements DiscoveryBackend {
  readonly name = 'sqlite';
  readonly supports = { persistent: true, history: true, nativeExpiryEvents: true };
  private db: Database | undefined;
  private ttl = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly watches = new Set<() => void>();
  // Opened once, close() idempotent, the same errors as every backend (from @roster/core/spi).
  private readonly lifecycle = new BackendLifecycle('sqlite');

  constructor(
    private readonly path: string,
    readonly namespace: string,
    private readonly pollInterval: number,
  ) {}

  async open(context: BackendOpenContext): Promise<void> {
    this.lifecycle.beginOpen();
    const db = new sqlite.Database(this.path);
    try {
      // Membership is rebuilt by heartbeats within one ttl, so the file need not survive a power
      // cut: no fsync per write (a crashed process loses nothing, the OS still writes its pages).
      // A persistent journal saves creating and deleting a file per transaction.
      await this.retryBusy(() => {
        db.exec('PRAGMA synchronous = OFF');
        db.all('PRAGMA journal_mode = PERSIST');
      });
      const ttl = await this.retryBusy(() =>
        transaction(db, 'IMMEDIATE', () => {
          db.exec(SCHEMA);
          db.run('INSERT OR IGNORE INTO namespaces (namespace, ttl) VALUES (?, ?)', [
            this.namespace,
            context.ttl,
          ]);
          return (
            db.get('SELECT ttl FROM namespaces WHERE namespace = ?', [this.namespace]) as { ttl: number }
          ).ttl;
        }),
      );
      if (ttl !== context.ttl) {
        throw new ConfigMismatchError(
          `sqlite namespace "${this.namespace}" in ${this.path} has ttl ${ttl} ms; this instance asked for ${context.ttl} ms`,
        );
      }
      this.ttl = ttl;
      this.lifecycle.opened();
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    this.sweeper = setInterval(() => this.sweep(), this.pollInterval);
    this.sweeper.unref();
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    return this.retryBusy(() =>
      transaction(this.ready(), 'IMMEDIATE', (): PutResult => {
        const current = this.live(key);
        if (options.expectedRevision === null && current) return { ok: false };
        if (typeof options.expectedRevision === 'number' && current?.revision !== options.expectedRevision)
          return { ok: false };
        const revision = this.logChange('put', key, value, null);
        this.ready().run(
          `INSERT INTO records (namespace, key, value, revision, expires_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires_at = excluded.expires_at`,
          [this.namespace, key, value, revision, Date.now() + this.ttl],
        );
        this.remember(key, value, revision, options.refreshOnly === true);
        return { ok: true, revision };
      }),
    );
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    return this.retryBusy(() =>
      transaction(this.ready(), 'IMMEDIATE', (): boolean => {
        const current = this.live(key);
        // expectedRevision null ("only if absent") never deletes anything.
        if (!current || condition.expectedRevision === null) return false;
        if (typeof condition.expectedRevision === 'number' && current.revision !== condition.expectedRevision)
          return false;
        this.ready().run('DELETE FROM records WHERE namespace = ? AND key = ?', [this.namespace, key]);
        this.logChange('delete', key, null, 'unregistered');
        return true;
      }),
    );
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    this.ready();
    const row = await this.retryBusy(() => this.live(key));
    return row && { key, value: row.value, revision: row.revision };
  }

  async list(): Promise<BackendSnapshot> {
    // One read transaction: the records and the cursor come from the same moment.
    return this.retryBusy(() => {
      const db = this.ready();
      return transaction(db, 'DEFERRED', (): BackendSnapshot => {
        const rows = db.all(
          'SELECT key, value, revision FROM records WHERE namespace = ? AND expires_at > ?',
          [this.namespace, Date.now()],
        ) as { key: string; value: Uint8Array; revision: number }[];
        const last = db.get('SELECT MAX(revision) AS revision FROM changes') as { revision: number | null };
        return {
          entries: rows.map((r) => ({ key: r.key, value: r.value, revision: r.revision })),
          cursor: String(last.revision ?? 0),
        };
      });
    });
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const db = this.ready();
    let position = revisionCursor(this.name, cursor);
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
            [this.namespace, position],
          ) as { revision: number | null };
          if (firstOfOurs.revision === null || firstOfOurs.revision > first) {
            stopped = true;
            onChange({ type: 'resync', reason: 'the change log was trimmed past the cursor' });
            return;
          }
        }
        rows = db.all(
          'SELECT revision, type, key, value, reason FROM changes WHERE namespace = ? AND revision > ? ORDER BY revision LIMIT 1000',
          [this.namespace, position],
        ) as unknown as ChangeRow[];
      } catch (error) {
        if (isBusy(error)) return breakStaleLock(this.path); // another process writes: next tick
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
    const timer = setInterval(poll, this.pollInterval);
    const stop = () => {
      stopped = true;
      clearInterval(timer);
      this.watches.delete(stop);
    };
    this.watches.add(stop);
    queueMicrotask(poll);
    return { stop: async () => stop() };
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    const rows = await this.retryBusy(
      () =>
        this.ready().all(
          'SELECT value FROM history WHERE namespace = ? AND key = ? ORDER BY revision DESC LIMIT ?',
          [this.namespace, key, limit],
        ) as { value: Uint8Array }[],
    );
    return rows.map((r) => r.value);
  }

  async close(): Promise<void> {
    if (!this.lifecycle.beginClose()) return;
    for (const stop of [...this.watches]) stop();
    clearInterval(this.sweeper);
    this.db?.close();
    this.db = undefined;
  }

  private ready(): Database {
    if (!this.db?.isOpen) throw new DiscoveryClosedError('the sqlite backend is not open');
    return this.db;
  }

  /**
   * Runs `work` (synchronous, so no other call of this process interleaves with it) and tries
   * again while another process holds the lock, up to BUSY_TIMEOUT.
   */
  private async retryBusy<T>(work: () => T): Promise<T> {
    const deadline = Date.now() + BUSY_TIMEOUT;
    for (let attempt = 0; ; attempt++) {
      try {
        return work();
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (Date.now() >= deadline)
          throw new BackendUnavailableError(`sqlite file ${this.path} stayed locked for ${BUSY_TIMEOUT} ms`, {
            cause: error,
          });
        breakStaleLock(this.path);
        await sleep(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
      }
    }
  }

  /** The record unless its deadline passed (expired but not yet swept counts as gone). */
  private live(key: string): { value: Uint8Array; revision: number } | undefined {
    const row = this.ready().get(
      'SELECT value, revision FROM records WHERE namespace = ? AND key = ? AND expires_at > ?',
      [this.namespace, key, Date.now()],
    ) as { value: Uint8Array; revision: number } | null;
    return row ?? undefined;
  }

  private logChange(
    type: 'put' | 'delete',
    key: string,
    value: Uint8Array | null,
    reason: string | null,
  ): number {
    const db = this.ready();
    const { lastInsertRowid } = db.run(
      'INSERT INTO changes (namespace, type, key, value, reason) VALUES (?, ?, ?, ?, ?)',
      [this.namespace, type, key, value, reason],
    );
    const revision = Number(lastInsertRowid);
    if (revision % 1000 === 0) db.run('DELETE FROM changes WHERE revision <= ?', [revision - CHANGES_KEPT]);
    return revision;
  }

  /** A plain heartbeat replaces the newest state instead of pushing real history out. */
  private remember(key: string, value: Uint8Array, revision: number, refreshOnly: boolean): void {
    const db = this.ready();
    if (refreshOnly) {
      const newest = db.get('SELECT MAX(revision) AS revision FROM history WHERE namespace = ? AND key = ?', [
        this.namespace,
        key,
      ]) as { revision: number | null };
      if (newest.revision !== null) {
        db.run('UPDATE history SET value = ? WHERE namespace = ? AND key = ? AND revision = ?', [
          value,
          this.namespace,
          key,
          newest.revision,
        ]);
        return;
      }
    }
    db.run('INSERT INTO history (namespace, key, revision, value) VALUES (?, ?, ?, ?)', [
      this.namespace,
      key,
      revision,
      value,
    ]);
    db.run(
      `DELETE FROM history WHERE namespace = ? AND key = ? AND revision NOT IN
       (SELECT revision FROM history WHERE namespace = ? AND key = ? ORDER BY revision DESC LIMIT ${HISTORY_DEPTH})`,
      [this.namespace, key, this.namespace, key],
    );
  }

  /** Deletes what ran out and says so in the log; every process does it, a transaction makes it once. */
  private sweep(): void {
    const db = this.db;
    if (!db?.isOpen) return;
    try {
      transaction(db, 'IMMEDIATE', () => {
        const due = db.all('SELECT key FROM records WHERE namespace = ? AND expires_at <= ?', [
          this.namespace,
          Date.now(),
        ]) as { key: string }[];
        for (const { key } of due) {
          db.run('DELETE FROM records WHERE namespace = ? AND key = ?', [this.namespace, key]);
          this.logChange('delete', key, null, 'expired');
        }
      });
    } catch (error) {
      // Busy: another process holds the lock; the next tick (here or in another process) sweeps.
      // Anything else would surface on the next call that touches the file.
      if (isBusy(error)) breakStaleLock(this.path);
    }
  }
}

/** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
function transaction<T>(db: Database, mode: 'DEFERRED' | 'IMMEDIATE', work: () => T): T {
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

function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|database is busy/.test(error.message);
}

/** Removes the lock directory of a process that died holding it (see STALE_LOCK_AFTER). */
function breakStaleLock(path: string): void {
  const lock = `${path}.lock`;
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_AFTER) rmdirSync(lock);
  } catch {
    // Gone already (released, or another process broke it first).
  }
}
