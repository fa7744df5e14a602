import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { BackendUnavailableError, DiscoveryError } from '@roster/core';

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
 * Everything else that fails an operation: the connection is down or closed, a request timed out,
 * the server refused. Roster's own errors pass through unchanged.
 */
export function toBackendError(error: unknown, what: string, server: string): Error {
  if (error instanceof DiscoveryError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new BackendUnavailableError(`NATS ${what} failed at ${server}: ${reason}`, { cause: error });
}
