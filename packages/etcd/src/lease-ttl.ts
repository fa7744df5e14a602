import { InvalidOptionsError } from '@roster/core';

/**
 * etcd leases count whole seconds: a ttl in ms becomes the next whole second, so a key never
 * expires before `ttl`. It may outlive it by up to a second less a millisecond, plus the ~500 ms
 * etcd's lessor takes to notice an expired lease; whole-second ttls avoid the first part.
 */
export function leaseSeconds(ttl: number): number {
  return Math.ceil(ttl / 1000);
}

/**
 * etcd raises any lease below its minimum (1.5 election timeouts, rounded up to a second: 2 s on a
 * default server) to that minimum. Silently accepting that would break Roster's expiry bound, so
 * the ttl is refused with what the server allows.
 */
export function assertGrantedTtl(requested: number, granted: number, ttl: number): void {
  if (granted > requested)
    throw new InvalidOptionsError(
      `ttl ${ttl} ms needs an etcd lease of ${requested} s, but this etcd server grants no lease shorter than ${granted} s ` +
        `(its minimum is 1.5 × --election-timeout, rounded up); use ttl >= ${granted * 1000} ms`,
    );
}
