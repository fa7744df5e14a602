// The tables every process of a cluster shares in the SQLite file, and the shape of a change row.

/**
 * `namespaces`: the ttl each namespace was first opened with. `records`: the live value of each
 * key, its revision and its deadline. `changes`: the ordered change feed, whose autoincrement id
 * is the revision. `history`: the last states of each key.
 */
export const SCHEMA = `
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

/** A row of `changes`. */
export interface ChangeRow {
  revision: number;
  type: 'put' | 'delete';
  key: string;
  value: Uint8Array | null;
  reason: 'unregistered' | 'expired' | null;
}
