import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { BackendAuthError, BackendUnavailableError, DiscoveryError } from '@roster/core';

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
 * after a restart or failover (`JetStream system temporarily unavailable`, API code 10008). Worth
 * retrying while `open()` still has time; also seen through a `cause`.
 */
export function isTemporarilyUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
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

/**
 * Everything else that fails an operation: a permission the user lacks (`BackendAuthError`), the
 * connection down or closed, a request timed out, the server refused. Roster's own errors pass
 * through unchanged.
 */
export function toBackendError(error: unknown, what: string, server: string): Error {
  if (error instanceof DiscoveryError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (isAuthFailure(error))
    return new BackendAuthError(
      `NATS ${what} was refused at ${server}: ${reason}; the user lacks a permission the README lists`,
      { cause: error },
    );
  return new BackendUnavailableError(`NATS ${what} failed at ${server}: ${reason}`, { cause: error });
}
