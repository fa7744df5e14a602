import { DeadlineQueue } from './deadline-queue.js';

/** What a confirming read found: the key is gone, still there unchanged, or the read failed. */
export type ExpiryVerdict = 'gone' | 'alive' | 'changed' | 'unknown';

/** Options of {@link ExpirySweeper}. */
export interface ExpirySweeperOptions {
  /** Ms between reads of a key that outlived its ttl (the server expires it any moment). */
  readonly recheck?: number;
  /**
   * Ms between reads of a key whose last write time is unknown (found by a list) or whose
   * heartbeats are invisible (`silentHeartbeats`). Default half of `max(1_000, ttl / 4)`, the
   * slack of rule 4, so a key that expires between two reads is still reported within the bound.
   */
  readonly probe?: number;
  /** The backend renews keys without a write: a key that is still there was probably renewed. */
  readonly silentHeartbeats?: boolean;
  readonly now?: () => number;
}

/**
 * For backends whose feed says nothing when a TTL runs out (NATS before 2.11): each node is
 * suspected `ttl` after its last write arrived, then confirmed with a read of the server. Only a
 * read that finds the key gone makes it `left` `expired`, so a node is never dropped early.
 *
 * Expiry is timed by this process's own clock from the moment it received a write, never from
 * the record's `lastSeen`, which the owner's clock wrote (rule 16 of docs/guarantees.md: the bound
 * holds with owners' clocks a minute off either way). A node found by a list, whose last write
 * time this process never saw, is read every `probe` ms until a write of it arrives: it may have
 * been written a moment or almost a ttl before the list.
 */
export class ExpirySweeper {
  private readonly queue: DeadlineQueue<string>;
  private readonly inFlight = new Set<string>();
  /** Ids whose last write time is unknown (listed, no write received since). */
  private readonly unknownWriteTime = new Set<string>();
  private readonly recheck: number;
  private readonly probe: number;
  private readonly silentHeartbeats: boolean;
  private readonly now: () => number;

  constructor(
    private readonly ttl: number,
    private readonly confirm: (id: string) => Promise<ExpiryVerdict>,
    options: ExpirySweeperOptions = {},
  ) {
    this.recheck = options.recheck ?? Math.min(250, Math.max(50, ttl / 10));
    this.probe = options.probe ?? Math.max(1_000, ttl / 4) / 2;
    this.silentHeartbeats = options.silentHeartbeats ?? false;
    this.now = options.now ?? Date.now;
    this.queue = new DeadlineQueue((ids) => {
      for (const id of ids) void this.check(id);
    }, this.now);
  }

  /** A write of `id` arrived at `receivedAt` (local ms): suspect it `ttl` later. */
  seen(id: string, receivedAt: number): void {
    this.unknownWriteTime.delete(id);
    this.queue.set(id, receivedAt + this.ttl);
  }

  /** `id` was found by a list at `listedAt` (local ms); when it was last written is unknown. */
  listed(id: string, listedAt: number): void {
    this.unknownWriteTime.add(id);
    this.queue.set(id, listedAt + this.probe);
  }

  forget(id: string): void {
    this.unknownWriteTime.delete(id);
    this.queue.delete(id);
  }

  get tracked(): number {
    return this.queue.size;
  }

  stop(): void {
    this.queue.stop();
    this.unknownWriteTime.clear();
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
    if (verdict === 'gone') this.unknownWriteTime.delete(id);
    // 'changed' re-armed the node through seen(); 'gone' removed it from the view. A key still
    // there ttl after its last write is read again soon (the server is about to expire it),
    // unless its renewals are invisible or its write time unknown: then every `probe` ms.
    if ((verdict === 'alive' || verdict === 'unknown') && this.queue.deadline(id) === undefined) {
      const slow = this.silentHeartbeats || this.unknownWriteTime.has(id);
      this.queue.set(id, this.now() + (slow ? this.probe : this.recheck));
    }
  }
}
