// How nats.js errors are recognised, and mapped to Roster's errors.
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { BackendUnavailableError } from '@roster/core';
import { type BackendFailure, backendErrorMapper } from '@roster/core/spi';

/**
 * A replicated stream answered without a leader (it is electing one): its answer is no floor
 * for a list. Temporarily unavailable like a meta election, so a read retries it within its deadline.
 */
export class LeaderlessStreamError extends BackendUnavailableError {
  constructor(bucket: string) {
    super(`the stream of NATS KV bucket "${bucket}" has no leader (the cluster is electing one)`);
  }
}

/**
 * A compare-and-set write the server refused because the key moved (`wrong last sequence`):
 * the expected outcome of a lost race, reported as `{ ok: false }`, never thrown.
 */
export function isWriteConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * The stream behind the bucket is gone (deleted beneath us). A publish to a subject no stream
 * listens on has no responders, which the client reports as "jetstream is not enabled" — JetStream
 * was there when the backend opened, so here it means the stream is missing.
 */
export function isStreamNotFound(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === JetStreamApiCodes.StreamNotFound;
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'JetStreamNotEnabled' ||
    /stream not found|no stream matches subject|no responders/i.test(error.message)
  );
}

/**
 * JetStream is there but cannot serve right now: a cluster electing its meta or stream leader
 * after a restart or failover (`JetStream system temporarily unavailable`, API code 10008), or a
 * stream answering without a leader. Worth retrying while `open()` or a read still has time;
 * also seen through a `cause`.
 */
export function isTemporarilyUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof LeaderlessStreamError) return true;
    if (e instanceof JetStreamApiError && e.code === 10008) return true;
    if (/temporarily unavailable/i.test(e.message)) return true;
  }
  return false;
}

/** Authentication or authorization refused by a reachable server (nats.js error names and texts). */
export function isAuthFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    /^(AuthorizationError|PermissionViolationError|UserAuthenticationExpiredError)$/.test(error.name) ||
    /authorization violation|permissions violation|authentication (expired|timeout|revoked)|user authentication/i.test(
      error.message,
    )
  );
}

/** Which of the failures core tells apart a nats.js error is, when it is no network error. */
function classify(error: unknown): BackendFailure | undefined {
  if (!isAuthFailure(error)) return undefined;
  const { name, message } = error as Error;
  return name === 'PermissionViolationError' || /permissions violation/i.test(message)
    ? 'permission-denied'
    : 'auth-refused';
}

/**
 * What fails an operation, as a Roster error (see `backendErrorMapper`): a permission the user
 * lacks or refused credentials (`BackendAuthError`), the connection down or closed, a request
 * timed out, the server refused (`BackendUnavailableError`). Roster's own errors pass through.
 */
export function toBackendError(error: unknown, what: string, server: string): Error {
  return backendErrorMapper({
    server: `NATS at ${server}`,
    classify,
    hints: {
      'permission-denied': 'the user lacks a permission the README lists',
      'auth-refused': 'check user/pass, token, nkey or creds',
    },
  })(error, what);
}
