import { DeadlineQueue } from './deadline-queue.js';

/** What a confirming read found: the key is gone, still there unchanged, or the read failed. */
export type ExpiryVerdict = 'gone' | 'alive' | 'changed' | 'unknown';

/**
 * For backends whose feed says nothing when a TTL runs out (NATS before 2.11): each node is
 * suspected `ttl` after its last write arrived, then confirmed with a read of the server. Only a
 * read that finds the key gone makes it `left` `expired`, so a node is never dropped early; a key
 * the server still holds is read again every `recheck` ms until it goes or changes.
 */
export class ExpirySweeper {
  private readonly queue: DeadlineQueue<string>;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly ttl: number,
    private readonly confirm: (id: string) => Promise<ExpiryVerdict>,
    private readonly recheck: number = Math.min(250, Math.max(50, ttl / 10)),
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new DeadlineQueue((ids) => {
      for (const id of ids) void this.check(id);
    }, now);
  }

  /** A write of `id` arrived at `writtenAt` (local ms): suspect it `ttl` later. */
  seen(id: string, writtenAt: number): void {
    this.queue.set(id, writtenAt + this.ttl);
  }

  forget(id: string): void {
    this.queue.delete(id);
  }

  get tracked(): number {
    return this.queue.size;
  }

  stop(): void {
    this.queue.stop();
  }

  private async check(id: string): Promise<void> {
    if (this.inFlight.has(id)) return;
    this.inFlight.add(id);
    let verdict: ExpiryVerdict;
    try {
      verdict = await this.confirm(id);
    } catch {
      verdict = 'unknown';
    } finally {
      this.inFlight.delete(id);
    }
    // 'changed' re-armed the node through seen(); 'gone' removed it from the view.
    if ((verdict === 'alive' || verdict === 'unknown') && this.queue.deadline(id) === undefined)
      this.queue.set(id, this.now() + this.recheck);
  }
}
