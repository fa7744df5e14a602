/** Options of {@link RetryBackoff}; the defaults are what core uses for its list and feed. */
export interface RetryBackoffOptions {
  /** Ms before the second attempt in a row (the first failure after a healthy period retries at once). */
  readonly base?: number;
  /** Longest wait between two attempts, in ms. */
  readonly max?: number;
  /** Ms a feed must run without failing before its next failure counts as the first again. */
  readonly stableAfter?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Paces re-lists and feed restarts (rule 15 of docs/guarantees.md): a struggling server sees a
 * few attempts per second at most from one instance, however fast each attempt fails.
 *
 * The first failure after a healthy period is retried at once, so an ordinary reconnect costs no
 * delay (rule 8). Each further failure in a row waits twice as long, up to `max`, with "equal
 * jitter" (between half and all of the step) so instances that lost the same server do not come
 * back in lockstep. A feed that starts and fails at once (a `resync` right after `watch()`, or
 * a `watch()` that throws) counts as a failure like a list that throws: the count is reset only
 * once a feed has run for `stableAfter` ms, not merely because `watch()` returned.
 */
export class RetryBackoff {
  private failures = 0;
  private runningSince: number | undefined;
  private readonly base: number;
  private readonly max: number;
  private readonly stableAfter: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: RetryBackoffOptions = {}) {
    this.base = options.base ?? 250;
    this.max = options.max ?? 5_000;
    this.stableAfter = options.stableAfter ?? 10_000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** A feed is running from now on. */
  running(): void {
    this.runningSince = this.now();
  }

  /** An attempt failed (or the running feed did): the ms to wait before the next one. */
  failed(): number {
    if (this.runningSince !== undefined && this.now() - this.runningSince >= this.stableAfter)
      this.failures = 0;
    this.runningSince = undefined;
    const inARow = this.failures++;
    if (inARow === 0) return 0;
    const step = Math.min(this.max, this.base * 2 ** Math.min(inARow - 1, 20));
    return step / 2 + (step / 2) * this.random();
  }
}
