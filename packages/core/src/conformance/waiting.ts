// Waiting with a deadline: every wait in the suite says which duty went unmet when it runs out,
// so a failure is a message a backend author reads, not a vitest timeout.

/** The deadline of every wait in the suite that is not itself a timing rule. */
export const WAIT_LIMIT = 10_000;
/** Rule 1: a change reaches every watcher well under a second on loopback. */
export const PROPAGATION_BOUND = 1_000;

/**
 * Polls `check` until it returns true (or a value) or the deadline passes, then throws `what`.
 * Say in `what` which duty went unmet ("the feed never reported the delete of crash-1"): it is the
 * failure message a backend author reads.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeout = WAIT_LIMIT,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves at epoch ms `time` (at once if it has passed). */
export function sleepUntil(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

/**
 * Resolves with how long `promise` took to settle (resolve or reject), or throws `what` if it has
 * not settled within `limit` ms: a call that hangs fails the case with a message, not a timeout.
 */
export async function settlesWithin(promise: Promise<unknown>, limit: number, what: string): Promise<number> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = promise.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), limit);
  });
  const inTime = await Promise.race([settled, late]);
  clearTimeout(timer);
  if (!inTime) throw new Error(`${what}: still pending after ${limit} ms`);
  return Date.now() - started;
}
