import { DeadlineQueue } from './deadline-queue.js';

/** `interval` ±10 %, so that many nodes started together do not heartbeat in lockstep. */
export function jittered(interval: number, random: () => number = Math.random): number {
  return interval * (0.9 + 0.2 * random());
}

/**
 * Schedules the heartbeats of every owned node on one timer (a deadline heap): a process that
 * owns 10,000 nodes holds one timer and a heap entry per node, not 10,000 timers. Nodes due in
 * the same tick beat together, which lets a backend batch them into one round trip.
 * The next beat of a node is armed only after its previous one settled, so beats of one node
 * never overlap, however slow the backend is. The timer keeps the process alive, as the
 * heartbeats of a running service should.
 */
export class HeartbeatScheduler {
  private readonly queue: DeadlineQueue<string>;
  private readonly wanted = new Set<string>();
  private stopped = false;

  constructor(
    private readonly interval: number,
    private readonly beat: (id: string) => Promise<void>,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new DeadlineQueue((ids) => this.due(ids), now, { ref: true });
  }

  /** Keeps beating `id`, one jittered interval after each settled beat, until `cancel(id)`. */
  start(id: string): void {
    if (this.stopped) return;
    this.wanted.add(id);
    this.arm(id);
  }

  /** Restarts the wait of `id` (after a write that refreshed it anyway). */
  postpone(id: string): void {
    if (this.wanted.has(id) && this.queue.deadline(id) !== undefined) this.arm(id);
  }

  cancel(id: string): void {
    this.wanted.delete(id);
    this.queue.delete(id);
  }

  has(id: string): boolean {
    return this.wanted.has(id);
  }

  stop(): void {
    this.stopped = true;
    this.queue.stop();
    this.wanted.clear();
  }

  private arm(id: string): void {
    this.queue.set(id, this.now() + jittered(this.interval, this.random));
  }

  private due(ids: string[]): void {
    for (const id of ids) {
      this.beat(id).finally(() => {
        // Re-armed meanwhile (start() after a re-registration) or cancelled: nothing to do.
        if (this.wanted.has(id) && !this.stopped && this.queue.deadline(id) === undefined) this.arm(id);
      });
    }
  }
}
