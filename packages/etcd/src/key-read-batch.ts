// Batches the compare-and-set reads of the heartbeats of one tick into one read-only transaction.
import type { IKeyValue } from 'etcd3';

/** etcd's default `--max-txn-ops`: the most operations one transaction may hold. */
const MAX_OPS = 128;

interface Waiting {
  readonly key: Buffer;
  readonly deadline: number;
  resolve(kv: IKeyValue | undefined): void;
  reject(error: unknown): void;
}

/**
 * Gathers the compare-and-set reads of plain heartbeats made in the same tick into one read-only
 * transaction of up to 128 key reads: a process that owns thousands of nodes pays one round trip
 * per batch, not one per node. A read-only transaction of serializable reads is answered by the
 * member at hand, with no raft round and no revision.
 */
export class KeyReadBatch {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly readMany: (keys: Buffer[], deadline: number) => Promise<(IKeyValue | undefined)[]>,
  ) {}

  read(key: Buffer, deadline: number): Promise<IKeyValue | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, deadline, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = [];
    for (let start = 0; start < all.length; start += MAX_OPS) {
      const batch = all.slice(start, start + MAX_OPS);
      const deadline = Math.min(...batch.map((w) => w.deadline));
      this.readMany(
        batch.map((w) => w.key),
        deadline,
      ).then(
        (kvs) => {
          for (const [i, w] of batch.entries()) w.resolve(kvs[i]);
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
    }
  }
}
