/**
 * Runs `work` with an absolute deadline (epoch ms) that every server call it makes passes on to
 * grpc, and settles by that deadline whatever happens: a frozen server (SIGSTOP) holds grpc
 * streams and calls open without failing them, and etcd3 would wait forever (rule 14 of
 * docs/guarantees.md). A late result of `work` is dropped.
 */
export function withDeadline<T>(
  ms: number,
  timedOut: () => Error,
  work: (deadline: number) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), ms);
    // Through a promise, so that a synchronous throw also clears the timer.
    Promise.resolve(deadline)
      .then(work)
      .then(
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

/** Resolves after `ms` (at once for 0 or less). */
export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
