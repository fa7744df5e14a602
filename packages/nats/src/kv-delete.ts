// A KV delete that reports whether it removed something, compare-and-set when asked.
import type { KV } from '@nats-io/kv';
import type { BackendEntry } from '@roster/core/spi';
import { isWriteConflict } from './nats-errors.js';

const DELETE_ATTEMPTS = 5;

/**
 * Deletes `key` from `kv`: at `expected` only when given (`null`: nothing to delete), else
 * whatever is stored. A KV delete always writes a marker, even for an absent key, so an
 * unconditional delete first reads the key (with `readLatest`) and deletes conditionally on that
 * revision: "nothing was deleted" is then reported as such. A lost race throws the write conflict.
 */
export async function deleteKey(
  kv: KV,
  key: string,
  expected: number | null | undefined,
  readLatest: (key: string) => Promise<BackendEntry | undefined>,
): Promise<boolean> {
  if (expected === null) return false;
  if (typeof expected === 'number') {
    if (expected < 1) return false;
    await kv.delete(key, { previousSeq: expected });
    return true;
  }
  for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
    const current = await readLatest(key);
    if (!current) return false;
    try {
      await kv.delete(key, { previousSeq: current.revision });
      return true;
    } catch (error) {
      if (!isWriteConflict(error)) throw error;
    }
  }
  // Still racing writers after several rounds: an unconditional delete settles it.
  await kv.delete(key);
  return true;
}
