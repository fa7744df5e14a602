import type { OwnNodeLostReason } from './types/discovery-options.js';

/**
 * Deletes of owned records reported by the feed (or by a confirmed expiry), with their reason,
 * so that the owner's own `left` and `onOwnNodeLost` name why the record went (rule 3 of
 * docs/guarantees.md). The owner's heartbeat may find its record gone before the feed says why:
 * it can wait here, boundedly, for the feed to catch up.
 */
export class OwnedDeletes {
  private readonly reasons = new Map<string, OwnNodeLostReason>();
  private readonly waiters = new Map<string, Set<(reason: OwnNodeLostReason | undefined) => void>>();

  /** The record of owned `id` was reported gone for `reason`. */
  note(id: string, reason: OwnNodeLostReason): void {
    this.reasons.set(id, reason);
    const waiting = this.waiters.get(id);
    this.waiters.delete(id);
    for (const wake of waiting ?? []) wake(reason);
  }

  reasonOf(id: string): OwnNodeLostReason | undefined {
    return this.reasons.get(id);
  }

  /** `id` was adopted again or given up: an old delete says nothing about its new record. */
  forget(id: string): void {
    this.reasons.delete(id);
  }

  /** The reason once noted, or undefined after `ms` or when `signal` aborts. Leaves no timer. */
  wait(id: string, ms: number, signal: AbortSignal): Promise<OwnNodeLostReason | undefined> {
    const known = this.reasons.get(id);
    if (known || signal.aborted) return Promise.resolve(known);
    return new Promise((resolve) => {
      const waiting = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, waiting);
      const done = (reason: OwnNodeLostReason | undefined) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiting.delete(done);
        if (waiting.size === 0 && this.waiters.get(id) === waiting) this.waiters.delete(id);
        resolve(reason);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      waiting.add(done);
    });
  }
}
