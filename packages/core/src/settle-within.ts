/** What {@link settleWithin} saw: the promise settled in time (with its outcome) or not. */
export type Settled<T> =
  | { readonly settled: true; readonly ok: true; readonly value: T }
  | { readonly settled: true; readonly ok: false; readonly error: unknown }
  | { readonly settled: false };

/**
 * Waits for `promise` at most `ms`. Never rejects, and leaves no timer behind either way, so a
 * backend call that never answers cannot keep `close()` waiting or the process alive (rule 14).
 */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ settled: false }), Math.max(0, ms));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ settled: true, ok: true, value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ settled: true, ok: false, error });
      },
    );
  });
}
