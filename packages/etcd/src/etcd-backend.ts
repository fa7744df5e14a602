import {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  type BackendCapabilities,
  type BackendChange,
  type BackendEntry,
  type BackendOpenContext,
  type BackendSnapshot,
  BackendUnavailableError,
  type BackendWatch,
  ConfigMismatchError,
  type DiscoveryBackend,
  DiscoveryClosedError,
  DiscoveryError,
  InvalidOptionsError,
  type Logger,
  type PutOptions,
  type PutResult,
  silentLogger,
  type WriteCondition,
} from '@roster/core';
import {
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type ITxnResponse,
} from 'etcd3';
import type { EtcdBackendOptions } from './etcd-backend-options.js';
import { isCompacted, isLeaseNotFound, toBackendError } from './etcd-errors.js';
import { EtcdFeed, EXPIRED_MARKER } from './etcd-feed.js';
import { DEFAULT_PREFIX, KeyLayout, prefixEnd } from './key-layout.js';
import { KeyReadBatch } from './key-read-batch.js';
import { LeaseKeepAlive } from './lease-keep-alive.js';
import { LeaseSupply } from './lease-supply.js';
import { type LeasePlan, planLeases, requestedSeconds } from './lease-ttl.js';
import { ObservedWrites } from './observed-writes.js';
import { delay, withDeadline } from './request-deadline.js';

const DEFAULT_CONNECT_TIMEOUT = 5_000;
const DEFAULT_REQUEST_TIMEOUT = 5_000;
/** Keys per range call of `list()`: keeps each answer well under grpc's 4 MiB message limit. */
const LIST_PAGE = 5_000;
const CONFIG_VERSION = 1;

/**
 * The etcd v3 backend, on `etcd3`. Each node is a key `<prefix>/<namespace>/nodes/<id>` under a
 * lease of its own, renewed by each write: a node that is not written or heartbeaten again
 * expires even while the process that wrote it lives. Where the server's leases can end at the
 * ttl (see `lease-ttl.ts`), a plain heartbeat is a keep-alive of that lease alone: no revision,
 * no watch event, and an idle cluster does not grow etcd. A namespace is listed at one revision
 * and watched from the next, so nothing is missed; lease expiry arrives as a delete and is
 * reported as `expired`, an explicit unregister as `unregistered`.
 *
 * @example
 * ```ts
 * import { createDiscovery } from '@roster/core';
 * import { etcdBackend } from '@roster/etcd';
 *
 * const discovery = await createDiscovery({
 *   backend: etcdBackend({ hosts: 'http://127.0.0.1:2379', namespace: 'prod' }),
 *   ttl: 10_000,
 * });
 * ```
 */
export function etcdBackend(options: EtcdBackendOptions): DiscoveryBackend {
  return new EtcdBackend(options);
}

/** What a read of a node key found: the entry plus the lease it hangs on ('0' for none). */
interface StoredNode extends BackendEntry {
  readonly lease: string;
}

/** An etcd3 fault-handling policy that runs the call once: core retries, and a circuit breaker would hide a restarted server for 5 s. */
const runOnce = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

class EtcdBackend implements DiscoveryBackend {
  readonly name = 'etcd';
  private readonly options: EtcdBackendOptions;
  private readonly layout: KeyLayout;
  private readonly namespaceName: string;
  private readonly hosts: string;
  private readonly connectTimeout: number;
  private readonly requestTimeout: number;
  private readonly ownsClient: boolean;
  private client: Etcd3 | undefined;
  private keepAlive: LeaseKeepAlive | undefined;
  private supply: LeaseSupply | undefined;
  private logger: Logger = silentLogger;
  private plan: LeasePlan | undefined;
  /** Only with the `observed` plan: how long this process has held each key's revision. */
  private observed: ObservedWrites | undefined;
  /** The lease of each key as of a revision we wrote or read, so a compare-and-set put needs no extra read. */
  private readonly leases = new Map<string, { revision: number; lease: string }>();
  private readonly feeds = new Set<BackendWatch>();
  private readonly heartbeatReads = new KeyReadBatch((keys, deadline) => this.readKeys(keys, deadline));
  private opened = false;
  private closed = false;

  constructor(options: EtcdBackendOptions) {
    this.options = options;
    this.namespaceName = options.namespace ?? 'default';
    assertValidNamespace(this.namespaceName);
    this.layout = new KeyLayout(options.prefix ?? DEFAULT_PREFIX, this.namespaceName);
    this.connectTimeout = positive(options.connectTimeout, DEFAULT_CONNECT_TIMEOUT, 'connectTimeout');
    this.requestTimeout = positive(options.requestTimeout, DEFAULT_REQUEST_TIMEOUT, 'requestTimeout');
    if (options.client) {
      if (!(options.client instanceof Etcd3))
        throw new InvalidOptionsError(
          'etcd client must be an Etcd3 instance from the etcd3 package (not a namespace())',
        );
      this.ownsClient = false;
      this.hosts = 'the given client';
    } else {
      if (!options.hosts || (Array.isArray(options.hosts) && options.hosts.length === 0))
        throw new InvalidOptionsError(
          'etcdBackend needs `hosts` (e.g. "http://127.0.0.1:2379") or a `client`',
        );
      this.ownsClient = true;
      this.hosts = Array.isArray(options.hosts) ? options.hosts.join(',') : options.hosts;
    }
  }

  /**
   * Depends on the ttl and on the server (read after `open()`): with the `lease` plan heartbeats
   * are silent and expiry comes from the feed; with the `observed` plan (a ttl below what the
   * server's leases can time) heartbeats are writes and core's sweeper confirms expiry via `get()`.
   */
  get supports(): BackendCapabilities {
    const observed = this.plan?.mode === 'observed';
    return { persistent: true, history: true, nativeExpiryEvents: !observed, silentHeartbeats: !observed };
  }

  async open(context: BackendOpenContext): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError('the etcd backend is closed');
    if (this.opened) throw new Error('the etcd backend is already open');
    this.logger = context.logger;
    const client = this.options.client ?? this.createClient();
    this.client = client;
    this.keepAlive = new LeaseKeepAlive(client, this.requestTimeout);
    try {
      await withDeadline(
        this.connectTimeout,
        () =>
          new BackendUnavailableError(
            `etcd at ${this.hosts} did not answer within ${this.connectTimeout} ms (connectTimeout)`,
          ),
        (deadline) => this.setUp(client, context.ttl, deadline),
      );
      this.opened = true;
    } catch (error) {
      await this.close();
      if (error instanceof DiscoveryError) throw error;
      throw toBackendError(error, `open namespace "${this.namespaceName}"`, this.hosts);
    }
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    this.ready();
    return this.bounded(`put "${key}"`, (deadline) => this.putWithin(key, value, options, deadline));
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    this.ready();
    if (condition.expectedRevision === null) return false;
    return this.bounded(`delete "${key}"`, (deadline) =>
      this.deleteWithin(key, condition.expectedRevision ?? undefined, deadline),
    );
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    this.ready();
    return this.bounded(`read "${key}"`, async (deadline) => {
      let current = await this.read(key, deadline);
      if (current && this.observed?.stale(key, current.revision)) {
        if (await this.expire(key, current, deadline)) return undefined;
        current = await this.read(key, deadline);
      }
      if (!current) {
        this.observed?.forget(key);
        return undefined;
      }
      this.observed?.seen(key, current.revision);
      return { key: current.key, value: current.value, revision: current.revision };
    });
  }

  async list(): Promise<BackendSnapshot> {
    const client = this.ready();
    return this.bounded(`list namespace "${this.namespaceName}"`, async (deadline) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const snapshot = await this.listOnce(client, deadline);
          for (const entry of snapshot.entries) this.observed?.seen(entry.key, entry.revision);
          return snapshot;
        } catch (error) {
          // Compaction between two pages: start over at a newer revision.
          if (!isCompacted(error) || attempt >= 2) throw error;
        }
      }
    });
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const client = this.ready();
    const from = Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0)
      throw new Error(`not an etcd cursor: ${JSON.stringify(cursor)}`);
    const observed = this.observed;
    const deliver = (change: BackendChange) => {
      if (change.type === 'delete') {
        // Forgotten unless this process wrote the key again since (its put has a later revision).
        if ((this.leases.get(change.key)?.revision ?? 0) < change.revision) this.leases.delete(change.key);
        observed?.forget(change.key, change.revision);
      } else if (change.type === 'put') observed?.seen(change.key, change.revision);
      onChange(change);
    };
    const feed = new EtcdFeed(client, this.layout, from + 1, deliver, this.logger);
    const handle: BackendWatch = {
      stop: async () => {
        this.feeds.delete(handle);
        await feed.stop();
      },
    };
    this.feeds.add(handle);
    return handle;
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    assertValidKey(key);
    const client = this.ready();
    return this.bounded(`read the history of "${key}"`, async (deadline) => {
      const values: Uint8Array[] = [];
      const current = await this.read(key, deadline);
      if (current) values.push(current.value);
      // Every write but a plain heartbeat also writes history/<id> in the same revision, so each
      // version of it is a real state, and walking back costs one read per state. Its newest
      // version is the current record's state (the same write, or the last one before plain
      // heartbeats that only moved lastSeen): it is not a second entry.
      let version = await this.rangeOne(client, this.layout.history(key), deadline);
      if (version && current) version = await this.versionBefore(client, key, version, deadline);
      while (version && values.length < limit) {
        values.push(new Uint8Array(version.value));
        version = await this.versionBefore(client, key, version, deadline);
      }
      return values;
    });
  }

  /**
   * Stops the feeds and keep-alive streams and closes a client we made, without waiting on the
   * server. Spare leases are left to run out on the server (seconds): revoking them could keep
   * a call, and the process, waiting on a frozen server.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.feeds].map((feed) => feed.stop()));
    this.supply?.close();
    this.keepAlive?.close();
    if (this.ownsClient) this.client?.close();
  }

  // ---- writes ---------------------------------------------------------------------------------

  private async putWithin(
    key: string,
    value: Uint8Array,
    options: PutOptions,
    deadline: number,
  ): Promise<PutResult> {
    const started = Date.now();
    const expected = options.expectedRevision;
    // A plain heartbeat under the `observed` plan is a write that leaves history/<id> alone.
    let history = !(options.refreshOnly ?? false);
    if (!history && expected !== null && this.plan?.mode === 'lease') {
      const renewed = await this.refresh(key, expected, started, deadline);
      if (renewed !== 'write') return renewed;
      // Nothing to renew: the value is stored, as a state of its own.
      history = true;
    }
    if (typeof expected === 'number') return this.putAt(key, value, expected, history, started, deadline);
    return this.putUnderNewLease(
      key,
      value,
      expected === null ? [absent(this.layout.node(key))] : [],
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
    const known = expected === undefined ? undefined : this.leaseAt(key, expected);
    const renewal = known === undefined ? undefined : this.renewAt(known, started, deadline);
    // Settled here too when the read fails first: its rejection must not go unhandled.
    renewal?.catch(() => {});
    const current = await this.heartbeatReads.read(this.layout.node(key), deadline);
    if (!current) return expected === undefined ? 'write' : { ok: false };
    const revision = Number(current.mod_revision);
    if (expected !== undefined && revision !== expected) return { ok: false };
    // A key without a lease was written by another tool: the write gives it one.
    if (current.lease === '0') return 'write';
    const ttl = await (current.lease === known ? renewal! : this.renewAt(current.lease, started, deadline));
    // The lease ran out (or was revoked by a replacing writer): the record is gone or is not ours.
    if (ttl <= 0) return expected === undefined ? 'write' : { ok: false };
    this.leases.set(key, { revision, lease: current.lease });
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
    let lease = this.leaseAt(key, expected);
    if (lease === undefined) {
      const current = await this.read(key, deadline);
      if (!current || current.revision !== expected) return { ok: false };
      lease = current.lease;
    }
    const condition = [modifiedAt(this.layout.node(key), expected)];
    if (lease === '0') return this.putUnderNewLease(key, value, condition, history, started, deadline);
    const renewal = this.renewBeside(lease, started, deadline);
    let response: ITxnResponse;
    try {
      response = await this.txn('put', condition, this.writeOps(key, value, lease, history), deadline);
    } catch (error) {
      // The key's lease ran out between the compare and the put: the key is gone, a conflict.
      if (isLeaseNotFound(error)) return { ok: false };
      throw error;
    }
    if (!response.succeeded) return { ok: false };
    const revision = Number(response.header.revision);
    this.leases.set(key, { revision, lease });
    // The lease ran out right after the write: etcd deleted the key with it.
    if ((await renewal) <= 0) return { ok: false };
    this.observed?.seen(key, revision);
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
    const supply = this.supply!;
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = attempt === 0 ? await supply.take() : await this.grant(deadline);
      const renewal = this.renewBeside(lease, started, deadline);
      let response: ITxnResponse;
      try {
        response = await this.txn(
          'put',
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
      this.leases.set(key, { revision, lease });
      const previous = response.responses[0]?.response_put?.prev_kv?.lease;
      if (previous && previous !== '0' && previous !== lease) this.retire(key, previous, deadline);
      if ((await renewal) <= 0) {
        // Only a server overloaded or frozen past the lease gets here: the key went with it.
        if (condition.length > 0) return { ok: false };
        continue;
      }
      this.observed?.seen(key, revision);
      return { ok: true, revision };
    }
    throw new BackendUnavailableError(
      `etcd at ${this.hosts} let three fresh leases run out while putting "${key}"; is the server overloaded?`,
    );
  }

  private async deleteWithin(key: string, expected: number | undefined, deadline: number): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let revision = expected;
      let lease = revision === undefined ? undefined : this.leaseAt(key, revision);
      if (lease === undefined || revision === undefined) {
        const current = await this.read(key, deadline);
        if (!current || (expected !== undefined && current.revision !== expected)) return false;
        revision = current.revision;
        lease = current.lease;
      }
      // The marker rides on the node's own lease, so it is gone within a ttl without anyone removing it.
      const markerLease = lease === '0' ? await this.grant(deadline) : lease;
      let response: ITxnResponse;
      try {
        response = await this.txn(
          'delete',
          [modifiedAt(this.layout.node(key), revision)],
          [
            { request_delete_range: { key: this.layout.node(key) } },
            { request_put: { key: this.layout.leave(key), value: Buffer.alloc(0), lease: markerLease } },
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
        this.observed?.forget(key);
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
  private async expire(key: string, current: StoredNode, deadline: number): Promise<boolean> {
    const markerLease = current.lease === '0' ? await this.grant(deadline) : current.lease;
    let response: ITxnResponse;
    try {
      response = await this.txn(
        'expire',
        [modifiedAt(this.layout.node(key), current.revision)],
        [
          { request_delete_range: { key: this.layout.node(key) } },
          { request_delete_range: { key: this.layout.history(key) } },
          { request_put: { key: this.layout.leave(key), value: EXPIRED_MARKER, lease: markerLease } },
        ],
        deadline,
      );
    } catch (error) {
      // Its lease ran out first: etcd removed the key itself.
      if (isLeaseNotFound(error)) return true;
      throw error;
    }
    if (!response.succeeded) return false;
    this.logger.debug(`"${key}" expired: unchanged for the ttl since this process saw it`, { key });
    this.leases.delete(key);
    this.observed?.forget(key);
    return true;
  }

  // ---- internals ------------------------------------------------------------------------------

  /** The version of history/<id> before `version`, or undefined at its start or at compaction. */
  private async versionBefore(
    client: Etcd3,
    key: string,
    version: IKeyValue,
    deadline: number,
  ): Promise<IKeyValue | undefined> {
    const before = Number(version.mod_revision) - 1;
    if (before < 1) return undefined;
    try {
      return await this.rangeOne(client, this.layout.history(key), deadline, { revision: before });
    } catch (error) {
      if (isCompacted(error)) return undefined;
      throw error;
    }
  }

  private createClient(): Etcd3 {
    const {
      client: _client,
      namespace: _ns,
      prefix: _prefix,
      connectTimeout: _c,
      requestTimeout: _r,
      ...rest
    } = this.options as EtcdBackendOptions & IOptions;
    return new Etcd3({
      ...rest,
      faultHandling: { host: () => runOnce, global: runOnce, ...rest.faultHandling },
    });
  }

  /**
   * Creates the namespace's config key, or checks that the existing one was made with the same
   * ttl; then probes the shortest lease the server grants to choose the lease plan.
   */
  private async setUp(client: Etcd3, ttl: number, deadline: number): Promise<void> {
    const config = Buffer.from(JSON.stringify({ v: CONFIG_VERSION, ttl }));
    const response = await client.kv.txn(
      {
        compare: [absent(this.layout.config)],
        success: [{ request_put: { key: this.layout.config, value: config } }],
        failure: [{ request_range: { key: this.layout.config } }],
      },
      callOptions(deadline),
    );
    if (!response.succeeded) {
      const existing = response.responses[0]?.response_range.kvs[0]?.value;
      const found = parseConfig(existing);
      if (found !== ttl)
        throw new ConfigMismatchError(
          `etcd namespace "${this.namespaceName}" (key ${this.layout.config.toString()}) exists with ` +
            (found === undefined
              ? `a config Roster cannot read (${existing?.toString() ?? 'empty'})`
              : `ttl ${found} ms`) +
            `; this instance asked for ttl ${ttl} ms. Use the same ttl, or delete that key when no instance uses the namespace`,
        );
    }
    const grantedAt = Date.now();
    const probe = await client.leaseClient.leaseGrant({ TTL: requestedSeconds(ttl) }, callOptions(deadline));
    const plan = planLeases(ttl, Number(probe.TTL));
    this.plan = plan;
    if (plan.mode === 'observed') {
      this.observed = new ObservedWrites(ttl);
      this.logger.info(
        `etcd at ${this.hosts} grants no lease shorter than ${plan.seconds} s, too long for ttl ${ttl} ms: ` +
          'heartbeats are record writes and watchers time expiry themselves (see the @roster/etcd README)',
      );
    }
    this.supply = new LeaseSupply(
      () => this.grant(Date.now() + this.requestTimeout),
      (id) => this.revoke(id),
      (id) => void this.keepAlive?.renew(id).catch(() => {}),
      plan.seconds,
    );
    // The probe becomes the first new node's lease rather than a wasted grant.
    this.supply.offer(probe.ID, grantedAt);
  }

  private ready(): Etcd3 {
    if (this.closed || !this.opened || !this.client)
      throw new DiscoveryClosedError('the etcd backend is not open');
    return this.client;
  }

  /** Every call that waits on the server settles within `requestTimeout` (rule 14 of docs/guarantees.md). */
  private bounded<T>(what: string, work: (deadline: number) => Promise<T>): Promise<T> {
    return withDeadline(
      this.requestTimeout,
      () =>
        new BackendUnavailableError(
          `etcd at ${this.hosts} did not answer within ${this.requestTimeout} ms (requestTimeout); could not ${what}`,
        ),
      work,
    );
  }

  /**
   * Keeps `lease` alive from `started + keepAliveDelay` on, so its deadline on the server is at
   * least `started + ttl`; resolves with the TTL etcd answered (0 or less: the lease is gone).
   */
  private async renewAt(lease: string, started: number, deadline: number): Promise<number> {
    await delay(started + (this.plan?.keepAliveDelay ?? 0) - Date.now());
    if (Date.now() >= deadline) return 0;
    try {
      return await this.keepAlive!.renew(lease);
    } catch (error) {
      throw toBackendError(error, 'renew a lease', this.hosts);
    }
  }

  /**
   * {@link renewAt}, sent beside the write instead of after it: under write load etcd answers a
   * keep-alive only once it applied what it committed, and a short lease (1 s) could run out
   * between a slow write and a renewal queued behind it. Renewed before the write commits, the
   * deadline is still at least start + ttl. A failure is reported where the result is awaited.
   */
  private renewBeside(lease: string, started: number, deadline: number): Promise<number> {
    const renewal = this.renewAt(lease, started, deadline);
    renewal.catch(() => {});
    return renewal;
  }

  /** Revokes a key's former lease once only that key's own keys (its history, a leave marker) hang on it. */
  private retire(key: string, lease: string, deadline: number): void {
    const client = this.client;
    if (!client) return;
    const own = new Set(
      [this.layout.node(key), this.layout.history(key), this.layout.leave(key)].map(String),
    );
    client.leaseClient
      .leaseTimeToLive({ ID: lease, keys: true }, callOptions(deadline))
      .then((status) => {
        if (Number(status.TTL) <= 0 || !status.keys.every((k) => own.has(k.toString()))) return;
        return client.leaseClient.leaseRevoke({ ID: lease }, callOptions(deadline));
      })
      .catch((error) => this.logger.debug(`could not revoke the former lease of "${key}"`, { key, error }));
  }

  private leaseAt(key: string, revision: number): string | undefined {
    const known = this.leases.get(key);
    return known && known.revision === revision ? known.lease : undefined;
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
          key: this.layout.node(key),
          value: bytes,
          lease,
          ...(previous ? { prev_kv: true } : {}),
        },
      },
    ];
    if (history) ops.push({ request_put: { key: this.layout.history(key), value: bytes, lease } });
    return ops;
  }

  private async grant(deadline: number): Promise<string> {
    const client = this.ready();
    try {
      return (await client.leaseClient.leaseGrant({ TTL: this.plan!.seconds }, callOptions(deadline))).ID;
    } catch (error) {
      throw toBackendError(error, 'grant a lease', this.hosts);
    }
  }

  private revoke(lease: string): void {
    this.client?.leaseClient
      .leaseRevoke({ ID: lease }, callOptions(Date.now() + this.requestTimeout))
      .catch(() => {});
  }

  private async txn(
    what: string,
    compare: ICompare[],
    success: IRequestOp[],
    deadline: number,
  ): Promise<ITxnResponse> {
    const client = this.ready();
    try {
      return await client.kv.txn({ compare, success, failure: [] }, callOptions(deadline));
    } catch (error) {
      if (isLeaseNotFound(error)) throw error;
      throw toBackendError(error, what, this.hosts);
    }
  }

  private async read(key: string, deadline: number): Promise<StoredNode | undefined> {
    const kv = await this.rangeOne(this.ready(), this.layout.node(key), deadline);
    if (!kv) return undefined;
    const revision = Number(kv.mod_revision);
    this.leases.set(key, { revision, lease: kv.lease });
    return { key, value: new Uint8Array(kv.value), revision, lease: kv.lease };
  }

  private async rangeOne(
    client: Etcd3,
    key: Buffer,
    deadline: number,
    options: { revision?: number; keysOnly?: boolean; serializable?: boolean } = {},
  ): Promise<IKeyValue | undefined> {
    try {
      const response = await client.kv.range(
        {
          key,
          ...(options.revision === undefined ? {} : { revision: options.revision }),
          ...(options.keysOnly ? { keys_only: true } : {}),
          ...(options.serializable ? { serializable: true } : {}),
        },
        callOptions(deadline),
      );
      return response.kvs[0];
    } catch (error) {
      if (isCompacted(error)) throw error;
      throw toBackendError(error, `read ${key.toString()}`, this.hosts);
    }
  }

  /** Reads the revision and lease (not the value) of several keys in one read-only transaction. */
  private async readKeys(keys: Buffer[], deadline: number): Promise<(IKeyValue | undefined)[]> {
    const client = this.ready();
    try {
      const response = await client.kv.txn(
        {
          compare: [],
          success: keys.map((key) => ({ request_range: { key, keys_only: true, serializable: true } })),
          failure: [],
        },
        callOptions(deadline),
      );
      return response.responses.map((r) => r.response_range?.kvs[0]);
    } catch (error) {
      throw toBackendError(error, 'read the revisions of owned nodes', this.hosts);
    }
  }

  private async listOnce(client: Etcd3, deadline: number): Promise<BackendSnapshot> {
    const end = prefixEnd(this.layout.nodesPrefix);
    const entries: BackendEntry[] = [];
    let start = this.layout.nodesPrefix;
    let revision: string | undefined;
    for (;;) {
      let response: Awaited<ReturnType<Etcd3['kv']['range']>>;
      try {
        response = await client.kv.range(
          { key: start, range_end: end, limit: LIST_PAGE, ...(revision ? { revision } : {}) },
          callOptions(deadline),
        );
      } catch (error) {
        if (isCompacted(error)) throw error;
        throw toBackendError(error, `list namespace "${this.namespaceName}"`, this.hosts);
      }
      revision ??= response.header.revision;
      for (const kv of response.kvs) {
        const parsed = this.layout.parse(kv.key);
        if (parsed?.kind === 'node')
          entries.push({
            key: parsed.id,
            value: new Uint8Array(kv.value),
            revision: Number(kv.mod_revision),
          });
        else
          this.logger.warn(
            `skipped etcd key "${kv.key.toString()}": the part after nodes/ is not a valid node id`,
            {
              key: kv.key.toString(),
            },
          );
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || !last) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { entries, cursor: revision };
  }
}

function callOptions(deadline: number): { deadline: Date } {
  return { deadline: new Date(deadline) };
}

/** Compare: the key does not exist. */
function absent(key: Buffer): ICompare {
  return { key, target: 'Create', result: 'Equal', create_revision: 0 };
}

/** Compare: the key was last written at `revision`. */
function modifiedAt(key: Buffer, revision: number): ICompare {
  return { key, target: 'Mod', result: 'Equal', mod_revision: revision };
}

function parseConfig(value: Buffer | undefined): number | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { v?: unknown; ttl?: unknown };
    return parsed.v === CONFIG_VERSION && typeof parsed.ttl === 'number' ? parsed.ttl : undefined;
  } catch {
    return undefined;
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidOptionsError(`${name} must be a number of ms > 0, got ${String(value)}`);
  return value;
}
