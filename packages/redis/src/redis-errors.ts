// How Redis replies are recognised, and mapped to Roster's errors.
import { ConfigMismatchError, DiscoveryError } from '@roster/core';
import { backendErrorMapper } from '@roster/core/spi';

const AUTH_REPLY =
  /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password|user executing the script can't run/i;
const PERMISSION_REPLY = /\bNOPERM\b|user executing the script can't run/i;

/** True for a reply that says "you may not": credentials refused, or a command or key the ACL denies. */
export function isAuthFailure(error: unknown): boolean {
  return AUTH_REPLY.test(error instanceof Error ? error.message : String(error));
}

/** True for a command or key the ACL denies (also a command a script calls). */
export function isPermissionDenied(error: unknown): boolean {
  return PERMISSION_REPLY.test(error instanceof Error ? error.message : String(error));
}

/**
 * Redis replies and ioredis failures as Roster errors (see `backendErrorMapper`), keeping the
 * original as `cause`. The open script's ttl check (`ROSTER_CONFIG_MISMATCH <ttl>`) is a
 * `ConfigMismatchError` naming both ttls.
 */
export function toBackendError(error: unknown, what: string, namespace?: string, ttl?: number): Error {
  const message = error instanceof Error ? error.message : String(error);
  const mismatch = /ROSTER_CONFIG_MISMATCH (\S+)/.exec(message);
  if (mismatch && !DiscoveryError.isInstance(error)) {
    const stored = mismatch[1];
    return new ConfigMismatchError(
      `redis namespace "${namespace ?? '?'}" exists with ttl ${stored} ms; this instance uses ${ttl ?? '?'} ms (use the same ttl or another namespace)`,
    );
  }
  return mapRedisError(error, what);
}

const mapRedisError = backendErrorMapper({
  server: 'Redis',
  classify: (error, message) =>
    PERMISSION_REPLY.test(message) ? 'permission-denied' : isAuthFailure(error) ? 'auth-refused' : undefined,
  hints: {
    'permission-denied': 'the Redis user lacks a permission @roster/redis needs (see the README for the ACL)',
    'auth-refused': 'check password / username in the url or options',
  },
});
