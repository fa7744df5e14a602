import { BackendUnavailableError, ConfigMismatchError, DiscoveryError } from '@roster/core';

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
  if (/\b(WRONGPASS|NOAUTH)\b/.test(message))
    return new BackendUnavailableError(
      `Redis refused the credentials while ${what}: ${message} (check password / username in the url or options)`,
      { cause: error },
    );
  if (message.includes('NOPERM'))
    return new BackendUnavailableError(
      `the Redis user lacks a permission @roster/redis needs while ${what}: ${message} (see the README for the ACL)`,
      { cause: error },
    );
  return new BackendUnavailableError(`Redis failed while ${what}: ${message}`, { cause: error });
}
