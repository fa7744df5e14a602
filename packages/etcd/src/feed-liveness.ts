// Whether the member serving a watch stream still answers: progress probes on a quiet stream, and the verdict to move it.
import { HEDGE_MS } from './hedge.js';

/** A stream that has said nothing for this long is sent a progress request (etcd answers at once, no consensus round). */
export const PROBE_AFTER_MS = HEDGE_MS;

/**
 * A stream that has said nothing for this long, probes included, is on a member that stopped
 * answering: long enough that a member only slowed by load answers a probe first (a live one
 * answers in milliseconds, and hedged requests already treat 1 s of silence as a sign), short
 * enough that a view lags by a few seconds at most, well under any ttl a cluster serves (a 3-member
 * cluster grants no lease under 2 s, and its failover cases run at 10 s).
 */
export const SILENT_AFTER_MS = 3 * HEDGE_MS;

/** How often the stream's quiet is looked at: the verdict comes at most this late. */
const CHECK_EVERY_MS = 250;

/** What the liveness check does and asks of the feed. */
export interface LivenessActions {
  /** Sends a progress request on the stream. */
  probe(): void;
  /** The stream's member stopped answering: the feed moves its watch to another member. */
  silent(quietMs: number): void;
  /** True when other calls already found the stream's member silent (see host-health.ts). */
  memberSuspect(): boolean;
}

/**
 * The liveness of one watch stream. A frozen member (SIGSTOP, a stuck VM) keeps its TCP
 * connections open and says nothing, and a watch stream has no deadline: without this, a watcher
 * whose stream sits on that member sees no change until the member thaws, however long. Anything
 * the stream says counts (events, the creation answer, progress answers); a stream that is busy
 * delivering events is never probed. A stream whose member other calls found silent is moved as
 * soon as it also leaves a probe unanswered, without waiting the full {@link SILENT_AFTER_MS}.
 */
export class FeedLiveness {
  private heardAt: number;
  private probedAt: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly actions: LivenessActions,
    private readonly now: () => number = Date.now,
  ) {
    this.heardAt = now();
  }

  /** Starts watching a stream just opened: its silence counts from now. */
  start(): void {
    this.stop();
    this.heardAt = this.now();
    this.probedAt = undefined;
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    // A watcher's feed alone must not keep a process alive (close() may never come).
    this.timer.unref?.();
  }

  /** The stream said something. */
  heard(): void {
    this.heardAt = this.now();
    this.probedAt = undefined;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const quiet = this.now() - this.heardAt;
    const probed = this.probedAt !== undefined && this.now() - this.probedAt >= PROBE_AFTER_MS;
    if (quiet >= SILENT_AFTER_MS || (probed && this.actions.memberSuspect())) {
      this.stop();
      this.actions.silent(quiet);
      return;
    }
    if (quiet >= PROBE_AFTER_MS && (this.probedAt === undefined || probed)) {
      this.probedAt = this.now();
      this.actions.probe();
    }
  }
}
