/**
 * Resolves when `signal` aborts (Ctrl-C). Holds the event loop open meanwhile: a pending promise
 * alone does not, and the library's timers may be unref'd.
 */
export function untilInterrupted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const keepAlive = setInterval(() => {}, 1 << 30);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive);
        resolve();
      },
      { once: true },
    );
  });
}

/** Keeps the process alive while `work` runs (see {@link untilInterrupted}). */
export async function keepAlive<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1 << 30);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
