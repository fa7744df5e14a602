// Bounds a connection attempt by --connect-timeout and Ctrl-C, and words what a failed one says.

import { type BackendTarget, describeTarget } from './backend-url.js';
import { CliError, EXIT_INTERRUPTED } from './cli-error.js';
import { duration } from './time-format.js';

/** What a failed connection attempt says: a timeout and an interruption get their own line. */
export function connectionFailure(error: unknown, where: BackendTarget, timeout: number): unknown {
  if (error === TIMED_OUT)
    return new CliError(`cannot reach ${describeTarget(where)} within ${duration(timeout)}`, {
      hint: 'is the server running? check the URL and the credentials, or raise --connect-timeout',
    });
  if (error === INTERRUPTED)
    return new CliError('interrupted while connecting', { exitCode: EXIT_INTERRUPTED });
  return error;
}

const TIMED_OUT = Symbol('timed out');
const INTERRUPTED = Symbol('interrupted');

/**
 * Settles with `work`, or rejects (timed out, interrupted) and calls `abandon` to release what
 * the abandoned attempt holds.
 */
export function deadline<T>(
  work: Promise<T>,
  ms: number,
  signal: AbortSignal,
  abandon: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const give = (reason: symbol) => {
      cleanup();
      abandon();
      reject(reason);
    };
    const timer = setTimeout(() => give(TIMED_OUT), ms);
    const onAbort = () => give(INTERRUPTED);
    signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) return give(INTERRUPTED);
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}
