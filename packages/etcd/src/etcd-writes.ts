// The puts of the etcd backend: writes onto leases and silent heartbeats (deletes: etcd-deletes.ts).
import type { Logger } from '@roster/core';
import { BackendUnavailableError } from '@roster/core';
import type { PutOptions, PutResult } from '@roster/core/spi';
import type { Etcd3, ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import { absent, callOptions, type EtcdCalls, modifiedAt, type StoredNode } from './etcd-calls.js';
import { isLeaseNotFound } from './etcd-errors.js';
import type { KeyLayout } from './key-layout.js';
import type { KeyReadBatch } from './key-read-batch.js';
import type { LeaseSupply } from './lease-supply.js';
import type { LeasePlan } from './lease-ttl.js';
import type { NodeLeases } from './node-leases.js';
import type { ObservedWrites } from './observed-writes.js';

/** What the writes need of the backend; the getters read state that `open()` sets. */
export interface WriteContext {
  readonly layout: KeyLayout;
  readonly calls: EtcdCalls;
  readonly hosts: string;
  /** Batches the compare-and-set reads of plain heartbeats. */
  readonly heartbeatReads: KeyReadBatch;
  /** The client even after close (a lease revoke is fire and forget), or undefined. */
  client(): Etcd3 | undefined;
  plan(): LeasePlan | undefined;
  observed(): ObservedWrites | undefined;
  supply(): LeaseSupply;
  logger(): Logger;
  grant(deadline: number): Promise<string>;
  /** Reads a node key (and notes its lease). */
  read(key: string, deadline: number): Promise<StoredNode | undefined>;
}

/**
 * Every write hangs a node key (and its history key) on a lease: a fresh one from the supply, or
 * the key's current lease for a compare-and-set. Each resolves only once the lease was renewed
 * to end at start + ttl (see lease-ttl.ts).
 */
export class EtcdWrites {
  constructor(
    private readonly context: WriteContext,
    private readonly leases: NodeLeases,
  ) {}

  async put(key: string, value: Uint8Array, options: PutOptions, deadline: number): Promise<PutResult> {
    const started = Date.now();
    const expected = options.expectedRevision;
    // A plain heartbeat under the `observed` plan is a write that leaves history/<id> alone.
    let history = !(options.refreshOnly ?? false);
    if (!history && expected !== null && this.context.plan()?.mode === 'lease') {
      const renewed = await this.refresh(key, expected, started, deadline);
      if (renewed !== 'write') return renewed;
      // Nothing to renew: the value is stored, as a state of its own.
      history = true;
    }
    if (typeof expected === 'number') return this.putAt(key, value, expected, history, started, deadline);
    return this.putUnderNewLease(
      key,
      value,
      expected === null ? [absent(this.context.layout.node(key))] : [],
      history,
      started,
      deadline,
    );
  }

  /**
   * A plain heartbeat under the `lease` plan: the key's lease is kept alive, and the
   * compare-and-set check is a read beside it (serializable, batched with the other heartbeats of
   * the tick: answered by the member at hand with no consensus round, no revision, nothing in
   * the feed). The two run side by side so that a read slowed by load never delays the renewal;
   * renewing a lease the record no longer hangs on keeps nothing alive but the node's own
   * history. 'write' when there is nothing to renew and the value must be stored instead (an
   * unconditional put of a key that is gone, or a key another tool wrote without a lease).
   */
  private async refresh(
    key: string,
    expected: number | undefined,
    started: number,
    deadline: number,
  ): Promise<PutResult | 'write'> {
    const known = expected === undefined ? undefined : this.leases.at(key, expected);
    const renewal = known === undefined ? undefined : this.leases.renewAt(known, started, deadline);
    // Settled here too when the read fails first: its rejection must not go unhandled.
    renewal?.catch(() => {});
    const current = await this.context.heartbeatReads.read(this.context.layout.node(key), deadline);
    if (!current) return expected === undefined ? 'write' : { ok: false };
    const revision = Number(current.mod_revision);
    if (expected !== undefined && revision !== expected) return { ok: false };
    // A key without a lease was written by another tool: the write gives it one.
    if (current.lease === '0') return 'write';
    const ttl = await (current.lease === known
      ? renewal!
      : this.leases.renewAt(current.lease, started, deadline));
    // The lease ran out (or was revoked by a replacing writer): the record is gone or is not ours.
    if (ttl <= 0) return expected === undefined ? 'write' : { ok: false };
    this.leases.set(key, revision, current.lease);
    return { ok: true, revision };
  }

  /** A compare-and-set put on the key's current lease. */
  private async putAt(
    key: string,
    value: Uint8Array,
    expected: number,
    history: boolean,
    started: number,
    deadline: number,
  ): Promise<PutResult> {
    let lease = this.leases.at(key, expected);
    if (lease === undefined) {
      const current = await this.context.read(key, deadline);
      if (!current || current.revision !== expected) return { ok: false };
      lease = current.lease;
    }
    const condition = [modifiedAt(this.context.layout.node(key), expected)];
    if (lease === '0') return this.putUnderNewLease(key, value, condition, history, started, deadline);
    const renewal = this.leases.renewBeside(lease, started, deadline);
    let response: ITxnResponse;
    try {
      response = await this.context.calls.txn(
        'putting',
        condition,
        this.writeOps(key, value, lease, history),
        deadline,
      );
    } catch (error) {
      // The key's lease ran out between the compare and the put: the key is gone, a conflict.
      if (isLeaseNotFound(error)) return { ok: false };
      throw error;
    }
    if (!response.succeeded) return { ok: false };
    const revision = Number(response.header.revision);
    this.leases.set(key, revision, lease);
    // The lease ran out right after the write: etcd deleted the key with it.
    if ((await renewal) <= 0) return { ok: false };
    this.context.observed()?.seen(key, revision);
    return { ok: true, revision };
  }

  /**
   * Create, replace or compare-and-set onto a fresh lease. The lease the key had before (learnt
   * from the put's `prev_kv`) is revoked once nothing else hangs on it: repeated unconditional
   * puts (a mirror, a copy) would otherwise leave a lease behind each time.
   */
  private async putUnderNewLease(
    key: string,
    value: Uint8Array,
    condition: ICompare[],
    history: boolean,
    started: number,
    deadline: number,
  ): Promise<PutResult> {
    const supply = this.context.supply();
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = attempt === 0 ? await supply.take() : await this.context.grant(deadline);
      const renewal = this.leases.renewBeside(lease, started, deadline);
      let response: ITxnResponse;
      try {
        response = await this.context.calls.txn(
          'putting',
          condition,
          this.writeOps(key, value, lease, history, true),
          deadline,
        );
      } catch (error) {
        // The fresh lease ran out before the put reached the server (a frozen server): take another.
        if (isLeaseNotFound(error)) continue;
        throw error;
      }
      if (!response.succeeded) {
        supply.giveBack(lease);
        return { ok: false };
      }
      const revision = Number(response.header.revision);
      this.leases.set(key, revision, lease);
      const previous = response.responses[0]?.response_put?.prev_kv?.lease;
      if (previous && previous !== '0' && previous !== lease) this.retire(key, previous, deadline);
      if ((await renewal) <= 0) {
        // Only a server overloaded or frozen past the lease gets here: the key went with it.
        if (condition.length > 0) return { ok: false };
        continue;
      }
      this.context.observed()?.seen(key, revision);
      return { ok: true, revision };
    }
    throw new BackendUnavailableError(
      `etcd at ${this.context.hosts} let three fresh leases run out while putting "${key}"; is the server overloaded?`,
    );
  }

  /** Revokes a key's former lease once only that key's own keys (its history, a leave marker) hang on it. */
  private retire(key: string, lease: string, deadline: number): void {
    const client = this.context.client();
    if (!client) return;
    const own = new Set(
      [this.context.layout.node(key), this.context.layout.history(key), this.context.layout.leave(key)].map(
        String,
      ),
    );
    client.leaseClient
      .leaseTimeToLive({ ID: lease, keys: true }, callOptions(deadline))
      .then((status) => {
        if (Number(status.TTL) <= 0 || !status.keys.every((k) => own.has(k.toString()))) return;
        return client.leaseClient.leaseRevoke({ ID: lease }, callOptions(deadline));
      })
      .catch((error) =>
        this.context.logger().debug(`could not revoke the former lease of "${key}"`, { key, error }),
      );
  }

  private writeOps(
    key: string,
    value: Uint8Array,
    lease: string,
    history: boolean,
    previous = false,
  ): IRequestOp[] {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const ops: IRequestOp[] = [
      {
        request_put: {
          key: this.context.layout.node(key),
          value: bytes,
          lease,
          ...(previous ? { prev_kv: true } : {}),
        },
      },
    ];
    if (history) ops.push({ request_put: { key: this.context.layout.history(key), value: bytes, lease } });
    return ops;
  }
}
