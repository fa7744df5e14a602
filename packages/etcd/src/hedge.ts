// A request sent again, beside the first, when the first has not answered soon.

/**
 * How long a heartbeat's read or lease renewal waits for its member before the same request goes
 * out again beside it: far above an answer from a live member (milliseconds, a few hundred under
 * heavy write load), far below a ttl minus `requestTimeout`. A member that is frozen still accepts
 * TCP, so its silence is the only sign; waiting out the whole request timeout on it would leave a
 * node whose next heartbeat is due one interval after that (core's scheduler) past its ttl.
 */
export const HEDGE_MS = 1_000;

/**
 * Settles with the first of `first` and, if `first` has not settled after `afterMs`, `again()`
 * (called then, once) to succeed; rejects when every attempt made failed, with the first's error.
 * `onHedge` runs when `again` is sent. Only for requests that may be applied twice (reads, lease
 * renewals).
 */
export function hedged<T>(
  first: Promise<T>,
  afterMs: number,
  again: () => Promise<T>,
  onHedge?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let attempts = 1;
    const errors: { error: unknown }[] = [];
    const run = (attempt: Promise<T>, index: number) =>
      attempt.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          errors[index] = { error };
          if (settled || errors.filter(Boolean).length < attempts) return;
          settled = true;
          clearTimeout(timer);
          reject(errors[0]!.error);
        },
      );
    const timer = setTimeout(() => {
      if (settled) return;
      attempts += 1;
      onHedge?.();
      void run(Promise.resolve().then(again), 1);
    }, afterMs);
    void run(first, 0);
  });
}
