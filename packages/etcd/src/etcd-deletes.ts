// Removing node keys in etcd: compare-and-set deletes that leave a leave marker, and the `observed` plan's expiry.
import type { ITxnResponse } from 'etcd3';
import { modifiedAt, type StoredNode } from './etcd-calls.js';
import { isLeaseNotFound } from './etcd-errors.js';
import { EXPIRED_MARKER } from './etcd-feed.js';
import type { WriteContext } from './etcd-writes.js';
import type { NodeLeases } from './node-leases.js';

/**
 * A node key goes in one compare-and-set transaction with a leave marker beside it, which tells
 * the feed why it went (empty: unregistered; EXPIRED_MARKER: expired; none: its lease ran out).
 */
export class EtcdDeletes {
  constructor(
    private readonly context: WriteContext,
    private readonly leases: NodeLeases,
  ) {}

  async delete(key: string, expected: number | undefined, deadline: number): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let revision = expected;
      let lease = revision === undefined ? undefined : this.leases.at(key, revision);
      if (lease === undefined || revision === undefined) {
        const current = await this.context.read(key, deadline);
        if (!current || (expected !== undefined && current.revision !== expected)) return false;
        revision = current.revision;
        lease = current.lease;
      }
      // The marker rides on the node's own lease, so it is gone within a ttl without anyone removing it.
      const markerLease = lease === '0' ? await this.context.grant(deadline) : lease;
      let response: ITxnResponse;
      try {
        response = await this.context.calls.txn(
          'deleting',
          [modifiedAt(this.context.layout.node(key), revision)],
          [
            { request_delete_range: { key: this.context.layout.node(key) } },
            {
              request_put: {
                key: this.context.layout.leave(key),
                value: Buffer.alloc(0),
                lease: markerLease,
              },
            },
          ],
          deadline,
        );
      } catch (error) {
        if (!isLeaseNotFound(error)) throw error;
        this.leases.delete(key);
        continue;
      }
      if (response.succeeded) {
        this.leases.delete(key);
        this.context.observed()?.forget(key);
        return true;
      }
      if (expected !== undefined) return false;
    }
    return false;
  }

  /**
   * The `observed` plan's expiry: this process has held the record's revision for ttl, so its
   * owner stopped writing. Deleted compare-and-set (a write landing meanwhile wins) with the
   * `expired` marker and the history, as a lease expiry would. True when the key is gone.
   */
  async expire(key: string, current: StoredNode, deadline: number): Promise<boolean> {
    const markerLease = current.lease === '0' ? await this.context.grant(deadline) : current.lease;
    let response: ITxnResponse;
    try {
      response = await this.context.calls.txn(
        'expiring',
        [modifiedAt(this.context.layout.node(key), current.revision)],
        [
          { request_delete_range: { key: this.context.layout.node(key) } },
          { request_delete_range: { key: this.context.layout.history(key) } },
          { request_put: { key: this.context.layout.leave(key), value: EXPIRED_MARKER, lease: markerLease } },
        ],
        deadline,
      );
    } catch (error) {
      // Its lease ran out first: etcd removed the key itself.
      if (isLeaseNotFound(error)) return true;
      throw error;
    }
    if (!response.succeeded) return false;
    this.context.logger().debug(`"${key}" expired: unchanged for the ttl since this process saw it`, { key });
    this.leases.delete(key);
    this.context.observed()?.forget(key);
    return true;
  }
}
