/** `interval` ±10 %, so that many nodes started together do not heartbeat in lockstep. */
export function jittered(interval: number, random: () => number = Math.random): number {
  return interval * (0.9 + 0.2 * random());
}

/**
 * One timer per owned node. The next beat is armed only after the previous one settled,
 * so beats of one node never overlap, however slow the backend is.
 */
export class HeartbeatScheduler {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly wanted = new Set<string>();
  private stopped = false;

  constructor(
    private readonly interval: number,
    private readonly beat: (id: string) => Promise<void>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Keeps beating `id`, one jittered interval after each settled beat, until `cancel(id)`. */
  start(id: string): void {
    if (this.stopped) return;
    this.wanted.add(id);
    this.arm(id);
  }

  /** Restarts the wait of `id` (after a write that refreshed it anyway). */
  postpone(id: string): void {
    if (this.wanted.has(id) && this.timers.has(id)) this.arm(id);
  }

  cancel(id: string): void {
    this.wanted.delete(id);
    this.clear(id);
  }

  has(id: string): boolean {
    return this.wanted.has(id);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.wanted.clear();
  }

  private arm(id: string): void {
    this.clear(id);
    const timer = setTimeout(
      () => {
        if (this.timers.get(id) !== timer) return;
        this.timers.delete(id);
        this.beat(id).finally(() => {
          if (this.wanted.has(id) && !this.timers.has(id) && !this.stopped) this.arm(id);
        });
      },
      jittered(this.interval, this.random),
    );
    this.timers.set(id, timer);
  }

  private clear(id: string): void {
    const timer = this.timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(id);
  }
}
