// The history bucket: earlier states of each node, written off the write path and read newest first.
import type { KV } from '@nats-io/kv';
import type { Logger } from '@roster/core';

/**
 * Keeps a state that changed more than `lastSeen` in the history bucket, off the write path:
 * a registration costs one round trip, not two. Publishes on one connection reach the stream in
 * order, so the history keeps the order of the writes; `history()` and `close()` wait for the
 * ones still in flight (`settled()`). Best effort: a failure is logged, the record itself is stored.
 */
export class HistoryWrites {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly bucket: string,
    private readonly logger: () => Logger,
  ) {}

  /** `bucket` may still be opening: the write waits for it (writes stay in order, each waits on the same promise). */
  remember(bucket: Promise<KV | undefined> | undefined, key: string, value: Uint8Array): void {
    if (!bucket) return;
    const write: Promise<void> = bucket
      .then((kv) => kv?.put(key, value))
      .then(
        () => {},
        (error: unknown) =>
          this.logger().warn(`could not record "${key}" in NATS KV bucket "${this.bucket}"`, {
            key,
            error,
          }),
      );
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** Resolves once the writes in flight now have landed (or failed). */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }
}

/**
 * The states of `key` for `history()`: the current value first (if any), then the earlier ones
 * the history bucket holds, newest first, at most `limit` in all.
 */
export async function readHistory(
  kv: KV | undefined,
  key: string,
  current: Uint8Array | undefined,
  limit: number,
): Promise<Uint8Array[]> {
  const values: Uint8Array[] = [];
  if (current) values.push(current);
  if (kv) {
    const earlier: Uint8Array[] = [];
    const iterator = await kv.history({ key });
    for await (const entry of iterator) if (entry.operation === 'PUT') earlier.push(entry.value);
    earlier.reverse();
    // The last full write is both the record and the newest history state: list it once.
    // After plain heartbeats the two differ in lastSeen, and core folds them.
    if (current && earlier[0] && sameBytes(earlier[0], current)) earlier.shift();
    values.push(...earlier);
  }
  return values.slice(0, limit);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
