import { BackendAuthError, BackendUnavailableError } from '@roster/core';
import {
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
} from 'etcd3';

/** A lease that ran out (or was revoked) between two calls: not an outage, the caller decides. */
export function isLeaseNotFound(error: unknown): boolean {
  return (
    error instanceof EtcdLeaseInvalidError ||
    (error instanceof Error && error.message.includes('requested lease not found'))
  );
}

/** Watch canceled or range refused because the revision asked for was compacted away. */
export function isCompacted(error: unknown): boolean {
  return error instanceof Error && error.message.includes('required revision has been compacted');
}

/**
 * Turns what etcd3 / grpc-js throw into Roster's errors, naming the server and what to do. A
 * server that refuses the credentials or the operation is `BackendAuthError`: "unavailable" would
 * send an operator looking at the network, and retrying cannot help.
 */
export function toBackendError(error: unknown, what: string, hosts: string): Error {
  if (error instanceof BackendUnavailableError || error instanceof BackendAuthError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof EtcdAuthenticationFailedError ||
    error instanceof EtcdUserNotFoundError ||
    /authentication failed|invalid user ID or password|user name not found/.test(message)
  )
    return new BackendAuthError(
      `etcd at ${hosts} rejected the credentials while trying to ${what}: ${message}. Check auth.username and auth.password`,
      { cause: error },
    );
  if (error instanceof EtcdPermissionDeniedError || /permission denied/.test(message))
    return new BackendAuthError(
      `etcd at ${hosts} denied permission to ${what}: ${message}. The user needs a readwrite role on the prefix (see the @roster/etcd README)`,
      { cause: error },
    );
  if (
    /user name is empty|auth.*not enabled|invalid auth token|token/.test(message) &&
    /auth|token/i.test(message)
  )
    return new BackendAuthError(`etcd at ${hosts} refused to ${what}: ${message}`, { cause: error });
  return new BackendUnavailableError(`etcd at ${hosts} is unavailable; could not ${what}: ${message}`, {
    cause: error,
  });
}
