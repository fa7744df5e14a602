// Steps of the Redis server's wall clock, told apart from the passing of time by this process's monotonic clock.

/**
 * One reading of the server's clock: `server` is its wall time (ms, `TIME`), read somewhere
 * between `sentAt` and `receivedAt` on this process's monotonic clock.
 */
export interface ClockSample {
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly server: number;
}

/**
 * A step of the server's wall clock between two samples. `forward` (ms) is the largest step the
 * two samples allow (a conservative allowance: records keep their time, never lose it); a
 * backward step is the smallest one they prove.
 */
export type ClockStep =
  | { readonly kind: 'forward'; readonly ms: number; readonly since: number; readonly at: number }
  | { readonly kind: 'backward'; readonly ms: number };

export type ForwardStep = Extract<ClockStep, { kind: 'forward' }>;

/** Steps below this are ignored: harmless (less than a heartbeat's margin) and within clock noise. */
export const CLOCK_STEP_TOLERANCE_MS = 100;
/** Relative rate difference allowed between the server's wall clock and our monotonic clock (1000 ppm). */
const DRIFT = 0.001;

/**
 * The step of the server's wall clock between two samples, if any. Without a step, the server's
 * time advances as much as ours, give or take the two round trips: the second reading is at
 * most `next.receivedAt - previous.sentAt` later and at least `next.sentAt - previous.receivedAt`.
 * Outside that window (plus the tolerance and a drift allowance) its clock was set. Slow calls or
 * a stalled process only widen the window; they never look like a step.
 */
export function clockStep(
  previous: ClockSample,
  next: ClockSample,
  toleranceMs = CLOCK_STEP_TOLERANCE_MS,
): ClockStep | undefined {
  const serverElapsed = next.server - previous.server;
  const most = next.receivedAt - previous.sentAt;
  const least = next.sentAt - previous.receivedAt;
  const tolerance = toleranceMs + most * DRIFT;
  if (serverElapsed - most > tolerance)
    return {
      kind: 'forward',
      ms: Math.ceil(serverElapsed - least),
      since: previous.server,
      at: next.server,
    };
  if (least - serverElapsed > tolerance) return { kind: 'backward', ms: Math.floor(least - serverElapsed) };
  return undefined;
}

/**
 * Reads the server's clock and compares each reading with the previous one. `read` resolves to
 * the server's wall time in ms, or `undefined` when this client may not read it (an ACL without
 * `TIME`): then there is nothing to compare.
 */
export class ServerClock {
  private last: ClockSample | undefined;

  constructor(
    private readonly read: () => Promise<number | undefined>,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** Monotonic time of the last reading, if any. */
  get lastReadAt(): number | undefined {
    return this.last?.receivedAt;
  }

  /**
   * Reads the clock. `first`: no earlier reading to compare with; `steady`: no step since the
   * previous reading; `unreadable`: this client may not read it; `stepped`: there was a step, and
   * `onStep` has handled it. The reading replaces the previous one only once `onStep` resolved:
   * if it fails, the next reading is compared with the one from before the step again.
   */
  async check(
    onStep: (step: ClockStep) => Promise<void>,
  ): Promise<'first' | 'steady' | 'unreadable' | 'stepped'> {
    const sentAt = this.monotonic();
    const server = await this.read();
    if (server === undefined) return 'unreadable';
    const sample = { sentAt, receivedAt: this.monotonic(), server };
    const previous = this.last;
    if (!previous) {
      this.last = sample;
      return 'first';
    }
    const step = clockStep(previous, sample);
    if (step) await onStep(step);
    this.last = sample;
    return step ? 'stepped' : 'steady';
  }
}
