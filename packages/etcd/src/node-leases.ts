// Which lease each node key hangs on, as this process last wrote or read it, and renewing one in time.

import { delay } from '@roster/core/spi';
import { toBackendError } from './etcd-errors.js';
import type { LeaseKeepAlive } from './lease-keep-alive.js';
import type { LeasePlan } from './lease-ttl.js';

/**
 * The lease of each key as of a revision we wrote or read, so a compare-and-set put needs no
 * extra read; and the keep-alive that makes a write's lease end at start + ttl (see lease-ttl.ts).
 */
export class NodeLeases {
  private readonly known = new Map<string, { revision: number; lease: string }>();

  constructor(
    private readonly keepAlive: () => LeaseKeepAlive | undefined,
    private readonly plan: () => LeasePlan | undefined,
    private readonly hosts: string,
  ) {}

  /** The lease `key` hangs on at `revision`, if this process knows it. */
  at(key: string, revision: number): string | undefined {
    const known = this.known.get(key);
    return known && known.revision === revision ? known.lease : undefined;
  }

  set(key: string, revision: number, lease: string): void {
    this.known.set(key, { revision, lease });
  }

  delete(key: string): void {
    this.known.delete(key);
  }

  /** A delete at `revision` seen in the feed: forgotten unless this process wrote the key again since. */
  deletedAt(key: string, revision: number): void {
    if ((this.known.get(key)?.revision ?? 0) < revision) this.known.delete(key);
  }

  /**
   * Keeps `lease` alive from `started + keepAliveDelay` on, so its deadline on the server is at
   * least `started + ttl`; resolves with the TTL etcd answered (0 or less: the lease is gone).
   */
  async renewAt(lease: string, started: number, deadline: number): Promise<number> {
    await delay(started + (this.plan()?.keepAliveDelay ?? 0) - Date.now());
    if (Date.now() >= deadline) return 0;
    try {
      return await this.keepAlive()!.renew(lease);
    } catch (error) {
      throw toBackendError(error, 'renewing a lease', this.hosts);
    }
  }

  /**
   * {@link renewAt}, sent beside the write instead of after it: under write load etcd answers a
   * keep-alive only once it applied what it committed, and a short lease (1 s) could run out
   * between a slow write and a renewal queued behind it. Renewed before the write commits, the
   * deadline is still at least start + ttl. A failure is reported where the result is awaited.
   */
  renewBeside(lease: string, started: number, deadline: number): Promise<number> {
    const renewal = this.renewAt(lease, started, deadline);
    renewal.catch(() => {});
    return renewal;
  }
}
