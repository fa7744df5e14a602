// Each record operation as its Lua script call: KEYS and ARGV in the order lua-scripts.ts reads
// them, and the reply decoded for the SPI.
import type { BackendEntry, BackendSnapshot, PutOptions, PutResult } from '@roster/core/spi';
import type { KeyLayout } from './key-layout.js';
import { keyHash } from './liveness-id.js';
import type { RosterCommands } from './lua-scripts.js';
import { bytes, unframe } from './record-frame.js';
import type { RedisSettings } from './redis-backend-options.js';
import { encodeCursor } from './stream-cursor.js';

/** What every script call of one backend instance passes besides the key. */
export interface ScriptScope {
  readonly keys: KeyLayout;
  /** KEYS[1..6] of every namespace script (lua-prelude.ts). */
  readonly baseKeys: readonly string[];
  readonly settings: RedisSettings;
  /** The namespace's ttl in ms, as open() agreed it with the server. */
  readonly ttl: number;
}

/** A write (or an unconditional refresh) through the put script; `{ ok: false }` on a failed condition. */
export async function putRecord(
  client: RosterCommands,
  scope: ScriptScope,
  key: string,
  value: Uint8Array,
  options: PutOptions,
): Promise<PutResult> {
  const { keys, settings } = scope;
  const expected = options.expectedRevision;
  const reply = await client.rosterPutV2(
    ...scope.baseKeys,
    keys.history(key),
    key,
    Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    String(scope.ttl),
    expected === undefined ? '' : expected === null ? 'absent' : String(expected),
    options.refreshOnly ? '1' : '0',
    settings.streamMaxLength,
    settings.historyDepth,
    settings.historyRetention,
    keyHash(key),
  );
  return reply[0] === 1 ? { ok: true, revision: Number(reply[1]) } : { ok: false };
}

/** Deletes `key` as `unregistered` (at `expected`, when given); true when a record was deleted. */
export async function deleteRecord(
  client: RosterCommands,
  scope: ScriptScope,
  key: string,
  expected: number | undefined,
): Promise<boolean> {
  const deleted = await client.rosterDeleteV2(
    ...scope.baseKeys,
    key,
    expected === undefined ? '' : String(expected),
    scope.settings.streamMaxLength,
    'unregistered',
    String(scope.ttl),
    keyHash(key),
  );
  return deleted === 1;
}

/** The current record of `key` (an overdue one is expired first, by the script). */
export async function getRecord(
  client: RosterCommands,
  scope: ScriptScope,
  key: string,
): Promise<BackendEntry | undefined> {
  const reply = await client.rosterGetV2Buffer(
    ...scope.baseKeys,
    key,
    scope.settings.streamMaxLength,
    String(scope.ttl),
    keyHash(key),
  );
  return reply ? { key, ...unframe(reply) } : undefined;
}

/** Every record and the cursor right after them, read in one atomic step (after a sweep). */
export async function listRecords(client: RosterCommands, scope: ScriptScope): Promise<BackendSnapshot> {
  const [lastId, seq, records] = await client.rosterListV2Buffer(
    ...scope.baseKeys,
    scope.settings.streamMaxLength,
    String(scope.ttl),
  );
  const entries: BackendEntry[] = [];
  for (let i = 0; i + 1 < records.length; i += 2)
    entries.push({ key: records[i]!.toString(), ...unframe(records[i + 1]!) });
  return {
    entries,
    cursor: encodeCursor({ streamId: lastId.toString(), revision: Number(seq.toString()) }),
  };
}

/** The stored values of `key`, newest first, at most `limit` (at least one is asked for). */
export async function readHistory(
  client: RosterCommands,
  scope: ScriptScope,
  key: string,
  limit: number,
): Promise<Uint8Array[]> {
  const values = await client.rosterHistoryV2Buffer(
    scope.keys.records,
    scope.keys.history(key),
    key,
    Math.max(1, limit),
  );
  return values.map(bytes);
}
