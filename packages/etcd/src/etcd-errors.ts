// How etcd3 errors are recognised, and mapped to Roster's errors.
import { type BackendFailure, backendErrorMapper } from '@roster/core/spi';
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

/** Which of the failures core tells apart an etcd3 / grpc-js error is, when it is no network error. */
function classify(error: unknown, message: string): BackendFailure | undefined {
  if (
    error instanceof EtcdAuthenticationFailedError ||
    error instanceof EtcdUserNotFoundError ||
    /authentication failed|invalid user ID or password|user name not found/.test(message)
  )
    return 'auth-refused';
  if (error instanceof EtcdPermissionDeniedError || /permission denied/.test(message))
    return 'permission-denied';
  if (
    /user name is empty|auth.*not enabled|invalid auth token|token/.test(message) &&
    /auth|token/i.test(message)
  )
    return 'auth-refused';
  return undefined;
}

/**
 * Turns what etcd3 / grpc-js throw into Roster's errors (see `backendErrorMapper`), naming the
 * server and what to do. A server that refuses the credentials or the operation is
 * `BackendAuthError`: "unavailable" would send an operator looking at the network, and retrying
 * cannot help.
 */
export function toBackendError(error: unknown, what: string, hosts: string): Error {
  return backendErrorMapper({
    server: `etcd at ${hosts}`,
    classify,
    hints: {
      'auth-refused': 'check auth.username and auth.password',
      'permission-denied': 'the user needs a readwrite role on the prefix (see the @roster/etcd README)',
    },
  })(error, what);
}
