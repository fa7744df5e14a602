import { createHash } from 'node:crypto';

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
