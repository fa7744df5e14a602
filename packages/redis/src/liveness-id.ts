// The liveness entry of a record: its id, and the heartbeat that renews it.
import { createHash } from 'node:crypto';
import type { PutResult } from '@roster/core/spi';
import type { Cluster, Redis } from 'ioredis';
import { LIVENESS_GROUP } from './key-layout.js';

/**
 * The liveness entry of a record is `<revision>-<key hash>`: the revision makes it unique and
 * increasing (a stream id must grow), the hash ties it to the key, so a heartbeat that names a
 * revision of another key (a compare-and-set with a revision this key never had) finds no entry
 * and is a conflict. 52 bits of SHA-1: an exact integer in Lua and in JavaScript.
 */
export function keyHash(key: string): string {
  return String(Number.parseInt(createHash('sha1').update(key, 'utf8').digest('hex').slice(0, 13), 16));
}

export function livenessEntry(revision: number, key: string): string {
  return `${revision}-${keyHash(key)}`;
}

/**
 * A plain heartbeat: one `XCLAIM … JUSTID` of the record's liveness entry (in the stream `live`)
 * resets its idle time (server clock). It succeeds only while the entry is pending, that is while
 * `key` is stored at exactly `expected` — the compare-and-set — and writes nothing else.
 */
export async function refreshLiveness(
  client: Redis | Cluster,
  live: string,
  key: string,
  expected: number,
): Promise<PutResult> {
  try {
    const claimed = (await client.xclaim(
      live,
      LIVENESS_GROUP,
      LIVENESS_GROUP,
      0,
      livenessEntry(expected, key),
      'JUSTID',
    )) as unknown[];
    return claimed.length > 0 ? { ok: true, revision: expected } : { ok: false };
  } catch (error) {
    // The group is gone with the namespace (a restart without persistence): nothing to refresh.
    if (error instanceof Error && error.message.startsWith('NOGROUP')) return { ok: false };
    throw error;
  }
}
