// Request timeouts of the Redis backend: one call, and every call on one connection (RequestClock).
import { requestTimedOut, withDeadline } from '@roster/core/spi';

/**
 * Settles `work` within `ms`: a frozen server (SIGSTOP) or one behind a dead socket keeps the
 * connection open and never answers, so no socket error ever ends the wait (rule 14 of
 * docs/guarantees.md). The command itself stays queued on the connection; its late answer, if
 * any, is dropped by ioredis.
 */
export function withinTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(work, ms, () => requestTimedOut({ server: 'Redis', what, timeout: ms }));
}

/**
 * Bounds every call on one connection by the request timeout, counted from when the server
 * went silent rather than from each call alone: commands on a connection are answered in order,
 * so a call sent while an earlier one has waited 4 s in vain gets the remaining 1 s (at least
 * a short probe). That keeps a sequence of calls (core's close: the heartbeat in flight, then
 * the unregisters, then the backend's close) within about one request timeout of a freeze.
 * A call that sees the server answer anything meanwhile (a thaw) gets its full timeout.
 */
export class RequestClock {
  private readonly pending = new Map<number, number>();
  private lastAnswer = Number.NEGATIVE_INFINITY;
  private nextToken = 0;
  private readonly probeMs: number;

  constructor(private readonly timeoutMs: number) {
    this.probeMs = Math.min(100, timeoutMs);
  }

  /** When the oldest call still waiting for an answer was sent, if nothing was answered since. */
  silentSince(): number | undefined {
    let oldest: number | undefined;
    for (const at of this.pending.values())
      if (at >= this.lastAnswer && (oldest === undefined || at < oldest)) oldest = at;
    return oldest;
  }

  /** Milliseconds a call made now may wait: the full timeout unless the server is already silent. */
  budget(now = Date.now()): number {
    const since = this.silentSince();
    return since === undefined ? this.timeoutMs : Math.max(0, since + this.timeoutMs - now);
  }

  run<T>(work: () => Promise<T>, what: string): Promise<T> {
    const started = Date.now();
    const silentFor = started - (this.silentSince() ?? started);
    const first = Math.max(this.probeMs, this.budget(started));
    const token = this.nextToken++;
    this.pending.set(token, started);
    const answered = () => {
      this.pending.delete(token);
      this.lastAnswer = Math.max(this.lastAnswer, Date.now());
    };
    const call = Promise.resolve().then(work);
    call.then(answered, answered);
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout>;
      const expire = () => {
        const rest = started + this.timeoutMs - Date.now();
        // The server answered something since this call was sent: it is alive, give the full timeout.
        if (this.lastAnswer >= started && rest > 0) {
          timer = setTimeout(expire, rest);
          return;
        }
        reject(
          requestTimedOut({
            server: 'Redis',
            what:
              silentFor > 0 ? `${what} (silent for ${silentFor} ms already when the call was made)` : what,
            timeout: this.timeoutMs,
          }),
        );
      };
      timer = setTimeout(expire, first);
      call.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
