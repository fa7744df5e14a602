// One way for a backend to bound a call that waits on its server: a frozen server (SIGSTOP) or
// one behind a dead socket keeps the connection open and never answers, so no socket error ever
// ends the wait (rule 14 of docs/guarantees.md).

import { BackendUnavailableError } from '../errors.js';

/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms` if it is still pending. `work`
 * may be a function of the absolute deadline (epoch ms), to pass on to a client that takes one
 * (grpc); a synchronous throw from it rejects too. The work itself cannot be cancelled: its late
 * outcome is dropped (and a late rejection is not reported as unhandled). The timer is cleared
 * as soon as the work settles, so nothing keeps the process alive.
 *
 * @example
 * ```ts
 * import { requestTimedOut, withDeadline } from '@roster/core/spi';
 *
 * const value = await withDeadline(client.get(key), 5_000, () =>
 *   requestTimedOut({ server: 'mystore at 10.0.0.1', what: `reading "${key}"`, timeout: 5_000 }),
 * );
 * ```
 */
export function withDeadline<T>(
  work: Promise<T> | ((deadline: number) => Promise<T>),
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    // Through a promise, so that a synchronous throw of `work` also clears the timer.
    const running = typeof work === 'function' ? Promise.resolve(deadline).then(work) : work;
    running.then(
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

/** What {@link requestTimedOut} says. */
export interface RequestTimeoutDetails {
  /** The server as messages name it, e.g. `etcd at 10.0.0.1:2379`. */
  readonly server: string;
  /** What the call was doing, e.g. `writing "api-1"`. */
  readonly what: string;
  /** The timeout that ran out, in ms. */
  readonly timeout: number;
  /** The option that sets it, named in the message. Default `requestTimeout`. */
  readonly option?: string;
}

/** The error of a call whose server did not answer in time: unavailable, of kind `timed-out`. */
export function requestTimedOut(details: RequestTimeoutDetails): BackendUnavailableError {
  const { server, what, timeout, option = 'requestTimeout' } = details;
  return new BackendUnavailableError(
    `${server} did not answer within ${timeout} ms (${option}) while ${what}: the server is frozen, overloaded or unreachable`,
    { failure: 'timed-out' },
  );
}

/** Resolves after `ms` (at once for 0 or less). */
export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
