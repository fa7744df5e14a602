import {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  type BackendChange,
  type BackendEntry,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  ConfigMismatchError,
  type DiscoveryBackend,
  DiscoveryClosedError,
  type PutOptions,
  type PutResult,
  type WriteCondition,
} from '@roster/core';
import Database from 'better-sqlite3';

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
  value: Buffer | null;
  reason: 'unregistered' | 'expired' | null;
}

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
  private db: Database.Database | undefined;
  private ttl = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly watches = new Set<() => void>();

  constructor(
    private readonly path: string,
    private readonly namespace: string,
    private readonly pollInterval: number,
  ) {}

  async open(context: BackendOpenContext): Promise<void> {
    const db = new Database(this.path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    db.prepare('INSERT OR IGNORE INTO namespaces (namespace, ttl) VALUES (?, ?)').run(
      this.namespace,
      context.ttl,
    );
    const { ttl } = db.prepare('SELECT ttl FROM namespaces WHERE namespace = ?').get(this.namespace) as {
      ttl: number;
    };
    if (ttl !== context.ttl) {
      db.close();
      throw new ConfigMismatchError(
        `sqlite namespace "${this.namespace}" in ${this.path} has ttl ${ttl} ms; this instance asked for ${context.ttl} ms`,
      );
    }
    this.db = db;
    this.ttl = ttl;
    this.sweeper = setInterval(() => this.sweep(), this.pollInterval);
    this.sweeper.unref();
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const db = this.ready();
    const write = db.transaction((): PutResult => {
      const current = this.live(key);
      if (options.expectedRevision === null && current) return { ok: false };
      if (typeof options.expectedRevision === 'number' && current?.revision !== options.expectedRevision)
        return { ok: false };
      const revision = this.logChange('put', key, value, null);
      db.prepare(
        `INSERT INTO records (namespace, key, value, revision, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires_at = excluded.expires_at`,
      ).run(this.namespace, key, Buffer.from(value), revision, Date.now() + this.ttl);
      this.remember(key, value, revision, options.refreshOnly === true);
      return { ok: true, revision };
    });
    return write.immediate();
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    const db = this.ready();
    const remove = db.transaction((): boolean => {
      const current = this.live(key);
      if (!current) return false;
      if (typeof condition.expectedRevision === 'number' && current.revision !== condition.expectedRevision)
        return false;
      db.prepare('DELETE FROM records WHERE namespace = ? AND key = ?').run(this.namespace, key);
      this.logChange('delete', key, null, 'unregistered');
      return true;
    });
    return remove.immediate();
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    this.ready();
    const row = this.live(key);
    return row && { key, value: new Uint8Array(row.value), revision: row.revision };
  }

  async list(): Promise<BackendSnapshot> {
    const db = this.ready();
    // One read transaction: the records and the cursor come from the same moment.
    const snapshot = db.transaction((): BackendSnapshot => {
      const rows = db
        .prepare('SELECT key, value, revision FROM records WHERE namespace = ? AND expires_at > ?')
        .all(this.namespace, Date.now()) as { key: string; value: Buffer; revision: number }[];
      const last = db.prepare('SELECT MAX(revision) AS revision FROM changes').get() as {
        revision: number | null;
      };
      return {
        entries: rows.map((r) => ({ key: r.key, value: new Uint8Array(r.value), revision: r.revision })),
        cursor: String(last.revision ?? 0),
      };
    });
    return snapshot.deferred();
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const db = this.ready();
    let position = Number(cursor);
    let stopped = false;
    const read = db.prepare(
      'SELECT revision, type, key, value, reason FROM changes WHERE namespace = ? AND revision > ? ORDER BY revision LIMIT 1000',
    );
    const oldest = db.prepare('SELECT MIN(revision) AS revision FROM changes');
    const poll = () => {
      if (stopped) return;
      const first = (oldest.get() as { revision: number | null }).revision;
      // The log was trimmed past our cursor: continuity is lost.
      if (first !== null && first > position + 1 && position > 0) {
        const firstOfOurs = db
          .prepare('SELECT MIN(revision) AS revision FROM changes WHERE namespace = ? AND revision > ?')
          .get(this.namespace, position) as { revision: number | null };
        if (firstOfOurs.revision === null || firstOfOurs.revision > first) {
          stopped = true;
          onChange({ type: 'resync', reason: 'the change log was trimmed past the cursor' });
          return;
        }
      }
      for (const row of read.all(this.namespace, position) as ChangeRow[]) {
        if (stopped) return;
        position = row.revision;
        onChange(
          row.type === 'put'
            ? { type: 'put', key: row.key, value: new Uint8Array(row.value!), revision: row.revision }
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
    const rows = this.ready()
      .prepare('SELECT value FROM history WHERE namespace = ? AND key = ? ORDER BY revision DESC LIMIT ?')
      .all(this.namespace, key, limit) as { value: Buffer }[];
    return rows.map((r) => new Uint8Array(r.value));
  }

  async close(): Promise<void> {
    for (const stop of [...this.watches]) stop();
    clearInterval(this.sweeper);
    this.db?.close();
    this.db = undefined;
  }

  private ready(): Database.Database {
    if (!this.db) throw new DiscoveryClosedError('the sqlite backend is not open');
    return this.db;
  }

  /** The record unless its deadline passed (expired but not yet swept counts as gone). */
  private live(key: string): { value: Buffer; revision: number } | undefined {
    return this.ready()
      .prepare('SELECT value, revision FROM records WHERE namespace = ? AND key = ? AND expires_at > ?')
      .get(this.namespace, key, Date.now()) as { value: Buffer; revision: number } | undefined;
  }

  private logChange(
    type: 'put' | 'delete',
    key: string,
    value: Uint8Array | null,
    reason: string | null,
  ): number {
    const db = this.ready();
    const { lastInsertRowid } = db
      .prepare('INSERT INTO changes (namespace, type, key, value, reason) VALUES (?, ?, ?, ?, ?)')
      .run(this.namespace, type, key, value && Buffer.from(value), reason);
    const revision = Number(lastInsertRowid);
    if (revision % 1000 === 0)
      db.prepare('DELETE FROM changes WHERE revision <= ?').run(revision - CHANGES_KEPT);
    return revision;
  }

  /** A plain heartbeat replaces the newest state instead of pushing real history out. */
  private remember(key: string, value: Uint8Array, revision: number, refreshOnly: boolean): void {
    const db = this.ready();
    if (refreshOnly) {
      const newest = db
        .prepare('SELECT MAX(revision) AS revision FROM history WHERE namespace = ? AND key = ?')
        .get(this.namespace, key) as { revision: number | null };
      if (newest.revision !== null) {
        db.prepare('UPDATE history SET value = ? WHERE namespace = ? AND key = ? AND revision = ?').run(
          Buffer.from(value),
          this.namespace,
          key,
          newest.revision,
        );
        return;
      }
    }
    db.prepare('INSERT INTO history (namespace, key, revision, value) VALUES (?, ?, ?, ?)').run(
      this.namespace,
      key,
      revision,
      Buffer.from(value),
    );
    db.prepare(
      `DELETE FROM history WHERE namespace = ? AND key = ? AND revision NOT IN
       (SELECT revision FROM history WHERE namespace = ? AND key = ? ORDER BY revision DESC LIMIT ${HISTORY_DEPTH})`,
    ).run(this.namespace, key, this.namespace, key);
  }

  /** Deletes what ran out and says so in the log; every process does it, a transaction makes it once. */
  private sweep(): void {
    const db = this.db;
    if (!db) return;
    try {
      db.transaction(() => {
        const due = db
          .prepare('SELECT key FROM records WHERE namespace = ? AND expires_at <= ?')
          .all(this.namespace, Date.now()) as { key: string }[];
        for (const { key } of due) {
          db.prepare('DELETE FROM records WHERE namespace = ? AND key = ?').run(this.namespace, key);
          this.logChange('delete', key, null, 'expired');
        }
      }).immediate();
    } catch {
      // Busy: another process holds the write lock; the next tick sweeps.
    }
  }
}
