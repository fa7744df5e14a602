// A Roster backend on one SQLite file, written the way a user would (docs/custom-backend.md): the
// SPI methods, the records' deadlines and the sweep that expires them, and history.
import { ConfigMismatchError, DiscoveryClosedError } from '@roster/core';
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
import { pollChanges } from './sqlite-change-feed.js';
import { breakStaleLock, isBusy, retryBusy, sqlite, transaction } from './sqlite-file.js';
import { SCHEMA } from './sqlite-schema.js';

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
      await retryBusy(this.path, () => {
        db.exec('PRAGMA synchronous = OFF');
        db.all('PRAGMA journal_mode = PERSIST');
      });
      const ttl = await retryBusy(this.path, () =>
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
    return retryBusy(this.path, () =>
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
    return retryBusy(this.path, () =>
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
    const row = await retryBusy(this.path, () => this.live(key));
    return row && { key, value: row.value, revision: row.revision };
  }

  async list(): Promise<BackendSnapshot> {
    // One read transaction: the records and the cursor come from the same moment.
    return retryBusy(this.path, () => {
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
    const stopPolling = pollChanges(
      { db, path: this.path, namespace: this.namespace, pollInterval: this.pollInterval },
      revisionCursor(this.name, cursor),
      onChange,
    );
    const stop = () => {
      stopPolling();
      this.watches.delete(stop);
    };
    this.watches.add(stop);
    return { stop: async () => stop() };
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    const rows = await retryBusy(
      this.path,
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
