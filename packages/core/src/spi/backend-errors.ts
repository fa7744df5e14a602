// Turns what a backend's client throws into Roster's errors, telling apart the four failures an
// operator fixes in different places: the server is unreachable (network, address), it did not
// answer in time (frozen, overloaded), it refused the credentials, or it refused the operation
// to this user (permissions). Only the recognition of the client's errors is per backend.

import { BackendAuthError, type BackendFailure, BackendUnavailableError, DiscoveryError } from '../errors.js';

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The failure a Node.js network error reports (its `code`, or `TimeoutError` / "timed out"),
 * looking through `cause` a few levels deep; `undefined` when it is not one.
 */
export function networkFailureOf(error: unknown): BackendFailure | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return 'unreachable';
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timed-out';
    if (e.name === 'TimeoutError' || /\btimed? ?out\b|\btimeout\b/i.test(e.message)) return 'timed-out';
  }
  return undefined;
}

/** How a backend's errors become Roster's. */
export interface BackendErrorMapperOptions {
  /** The server as messages name it, e.g. `etcd at 10.0.0.1:2379` (a function if known only later). */
  readonly server: string | (() => string);
  /**
   * Recognises the backend's own errors (reply texts, client error classes). `undefined` leaves
   * the error to {@link networkFailureOf}, then to `unreachable`.
   */
  readonly classify?: (error: unknown, message: string) => BackendFailure | undefined;
  /** A sentence per failure telling the user what to check, appended to the message. */
  readonly hints?: Partial<Record<BackendFailure, string>>;
}

const SAYS: Record<BackendFailure, string> = {
  unreachable: 'could not be reached',
  'timed-out': 'did not answer in time',
  'auth-refused': 'refused the credentials',
  'permission-denied': 'denied permission',
};

/** A function `(error, what) => Error` for a backend; see {@link backendErrorMapper}. */
export type BackendErrorMapper = (error: unknown, what: string) => Error;

/**
 * Builds the error mapper of one backend. Roster's own errors pass through unchanged; anything
 * else becomes `BackendUnavailableError` (unreachable, timed out) or `BackendAuthError` (auth
 * refused, permission denied), with its `failure` set, the original as `cause`, and a message
 * naming the server, what was being done, the client's message and the hint.
 *
 * @example
 * ```ts
 * import { backendErrorMapper } from '@roster/core/spi';
 *
 * const toBackendError = backendErrorMapper({
 *   server: `mystore at ${url}`,
 *   classify: (error, message) =>
 *     /WRONGPASS/.test(message) ? 'auth-refused' : /NOPERM/.test(message) ? 'permission-denied' : undefined,
 *   hints: { 'auth-refused': 'check the password in the url' },
 * });
 * try { await client.get(key); } catch (error) { throw toBackendError(error, `reading "${key}"`); }
 * ```
 */
export function backendErrorMapper(options: BackendErrorMapperOptions): BackendErrorMapper {
  return (error, what) => {
    if (DiscoveryError.isInstance(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    const failure = options.classify?.(error, message) ?? networkFailureOf(error) ?? 'unreachable';
    const server = typeof options.server === 'function' ? options.server() : options.server;
    const hint = options.hints?.[failure];
    const text = `${server} ${SAYS[failure]} while ${what}: ${message}${hint ? `; ${hint}` : ''}`;
    return failure === 'auth-refused' || failure === 'permission-denied'
      ? new BackendAuthError(text, { cause: error, failure })
      : new BackendUnavailableError(text, { cause: error, failure });
  };
}
