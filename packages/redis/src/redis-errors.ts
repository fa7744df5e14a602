import { BackendAuthError, BackendUnavailableError, ConfigMismatchError, DiscoveryError } from '@roster/core';

const AUTH_REPLY =
  /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password|user executing the script can't run/i;
const PERMISSION_REPLY = /\bNOPERM\b|user executing the script can't run/i;

/** True for a reply that says "you may not": credentials refused, or a command or key the ACL denies. */
export function isAuthFailure(error: unknown): boolean {
  return AUTH_REPLY.test(error instanceof Error ? error.message : String(error));
}

/** Redis replies and ioredis failures as Roster errors, keeping the original as `cause`. */
export function toDiscoveryError(error: unknown, what: string, namespace?: string, ttl?: number): Error {
  if (error instanceof DiscoveryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const mismatch = /ROSTER_CONFIG_MISMATCH (\S+)/.exec(message);
  if (mismatch) {
    const stored = mismatch[1];
    return new ConfigMismatchError(
      `redis namespace "${namespace ?? '?'}" exists with ttl ${stored} ms; this instance uses ${ttl ?? '?'} ms (use the same ttl or another namespace)`,
    );
  }
  if (PERMISSION_REPLY.test(message))
    return new BackendAuthError(
      `the Redis user lacks a permission @roster/redis needs while ${what}: ${message} (see the README for the ACL)`,
      { cause: error },
    );
  if (isAuthFailure(error))
    return new BackendAuthError(
      `Redis refused the credentials while ${what}: ${message} (check password / username in the url or options)`,
      { cause: error },
    );
  return new BackendUnavailableError(`Redis failed while ${what}: ${message}`, { cause: error });
}
