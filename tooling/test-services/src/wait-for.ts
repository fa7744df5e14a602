import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this many ms. */
  timeoutMs: number;
  /** Pause between attempts, in ms. Default 50. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  description: string;
}

/**
 * Polls `check` until it returns something other than `false`/`undefined`, and returns that.
 * A `check` that throws stops the wait with that error (use it to fail fast, e.g. the server exited).
 *
 * @example
 * ```ts
 * await waitFor(async () => (await registry.list()).length === 3, {
 *   timeoutMs: 5_000,
 *   description: 'three members to register',
 * });
 * ```
 */
export async function waitFor<T>(
  check: () => Promise<T | false | undefined> | T | false | undefined,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  for (;;) {
    const result = await check();
    if (result !== false && result !== undefined) return result;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.description}`);
    }
    await delay(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
}

/** Resolves with `true` when `promise` settles within `ms`, `false` otherwise. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
