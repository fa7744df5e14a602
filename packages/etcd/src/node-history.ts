// A node's history in etcd: its current record, then the earlier versions of its history key.
import type { EtcdCalls, StoredNode } from './etcd-calls.js';
import type { KeyLayout } from './key-layout.js';

/**
 * Every write but a plain heartbeat also writes history/<id> in the same revision, so each
 * version of it is a real state, and walking back costs one read per state. Its newest version is
 * the current record's state (the same write, or the last one before plain heartbeats that only
 * moved lastSeen): it is not a second entry.
 */
export async function readNodeHistory(
  calls: EtcdCalls,
  layout: KeyLayout,
  key: string,
  current: StoredNode | undefined,
  limit: number,
  deadline: number,
): Promise<Uint8Array[]> {
  const values: Uint8Array[] = [];
  if (current) values.push(current.value);
  let version = await calls.rangeOne(layout.history(key), deadline);
  if (version && current) version = await calls.versionBefore(key, version, deadline);
  while (version && values.length < limit) {
    values.push(new Uint8Array(version.value));
    version = await calls.versionBefore(key, version, deadline);
  }
  return values;
}
