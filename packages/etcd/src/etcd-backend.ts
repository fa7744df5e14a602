// The etcd v3 backend: the SPI methods, open and close, over the calls, writes, deletes and feed of one namespace.
import {
  DiscoveryClosedError,
  InvalidOptionsError,
  type Logger,
  type NamespaceInspection,
  silentLogger,
} from '@roster/core';
import {
  assertValidKey,
  assertValidValueSize,
  type BackendCapabilities,
  type BackendChange,
  type BackendEntry,
  BackendLifecycle,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  type DiscoveryBackend,
  type PutOptions,
  type PutResult,
  requestTimedOut,
  type WriteCondition,
  withDeadline,
} from '@roster/core/spi';
import type { Etcd3 } from 'etcd3';
import {
  createClient,
  type EtcdBackendOptions,
  type EtcdSettings,
  hostList,
  resolveEtcdSettings,
} from './etcd-backend-options.js';
import { callOptions, EtcdCalls, type StoredNode } from './etcd-calls.js';
import { EtcdDeletes } from './etcd-deletes.js';
import { isCompacted, toBackendError } from './etcd-errors.js';
import { EtcdFeed } from './etcd-feed.js';
import { EtcdWrites, type WriteContext } from './etcd-writes.js';
import { HEDGE_MS, hedged } from './hedge.js';
import { HostHealth } from './host-health.js';
import { KeyReadBatch } from './key-read-batch.js';
import { LeaseKeepAlive } from './lease-keep-alive.js';
import type { LeaseSupply } from './lease-supply.js';
import type { LeasePlan } from './lease-ttl.js';
import { inspectConfigKey } from './namespace-inspect.js';
import { openNamespace } from './namespace-open.js';
import { readNodeHistory } from './node-history.js';
import { NodeLeases } from './node-leases.js';
import type { ObservedWrites } from './observed-writes.js';

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

class EtcdBackend implements DiscoveryBackend {
  readonly name = 'etcd';
  /** The namespace's name: core reports it in metrics (`roster.namespace`, docs/metrics.md). */
  get namespace(): string {
    return this.settings.namespace;
  }
  private readonly settings: EtcdSettings;
  private client: Etcd3 | undefined;
  private keepAlive: LeaseKeepAlive | undefined;
  /** Which members of a client made here stopped answering (see host-health.ts). */
  private health: HostHealth | undefined;
  private supply: LeaseSupply | undefined;
  private logger: Logger = silentLogger;
  private plan: LeasePlan | undefined;
  /** Only with the `observed` plan: how long this process has held each key's revision. */
  private observed: ObservedWrites | undefined;
  private readonly leases: NodeLeases;
  private readonly calls: EtcdCalls;
  private readonly writes: EtcdWrites;
  private readonly deletes: EtcdDeletes;
  private readonly feeds = new Set<BackendWatch>();
  private readonly lifecycle = new BackendLifecycle('etcd');

  constructor(private readonly options: EtcdBackendOptions) {
    this.settings = resolveEtcdSettings(options);
    const { layout, hosts } = this.settings;
    this.leases = new NodeLeases(
      () => this.keepAlive,
      () => this.plan,
      hosts,
    );
    this.calls = new EtcdCalls(
      () => this.ready(),
      layout,
      hosts,
      () => this.logger,
    );
    const writeContext: WriteContext = {
      layout,
      calls: this.calls,
      hosts,
      // On a cluster, sent again beside itself when not answered soon (see hedge.ts): a heartbeat
      // must not wait out the request timeout on a frozen member.
      heartbeatReads: new KeyReadBatch((keys, deadline) => {
        const read = this.calls.readKeys(keys, deadline);
        if (!this.health?.several) return read;
        return hedged(read, HEDGE_MS, () => this.calls.readKeys(keys, deadline));
      }),
      client: () => this.client,
      plan: () => this.plan,
      observed: () => this.observed,
      supply: () => this.supply!,
      logger: () => this.logger,
      grant: (deadline) => this.grant(deadline),
      read: (key, deadline) => this.read(key, deadline),
    };
    this.writes = new EtcdWrites(writeContext, this.leases);
    this.deletes = new EtcdDeletes(writeContext, this.leases);
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
    this.lifecycle.beginOpen();
    const { connectTimeout, hosts, namespace } = this.settings;
    this.logger = context.logger;
    // Only a client made here can be steered away from a member that stopped answering.
    const health = this.options.client ? undefined : new HostHealth(hostList(this.options));
    this.health = health;
    const client = this.options.client ?? createClient(this.options, health);
    this.client = client;
    this.keepAlive = new LeaseKeepAlive(client, this.settings.requestTimeout, health);
    try {
      await withDeadline(
        (deadline) => this.setUp(client, context.ttl, deadline),
        connectTimeout,
        () =>
          requestTimedOut({
            server: `etcd at ${hosts}`,
            what: `opening namespace "${namespace}"`,
            timeout: connectTimeout,
            option: 'connectTimeout',
          }),
      );
      this.lifecycle.opened();
    } catch (error) {
      await this.close();
      throw toBackendError(error, `opening namespace "${namespace}"`, hosts);
    }
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    return this.request(`putting "${key}"`, (deadline) => this.writes.put(key, value, options, deadline));
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    this.ready();
    if (condition.expectedRevision === null) return false;
    return this.request(`deleting "${key}"`, (deadline) =>
      this.deletes.delete(key, condition.expectedRevision ?? undefined, deadline),
    );
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    return this.request(`reading "${key}"`, async (deadline) => {
      let current = await this.read(key, deadline);
      if (current && this.observed?.stale(key, current.revision)) {
        if (await this.deletes.expire(key, current, deadline)) return undefined;
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
    const { namespace } = this.settings;
    return this.request(`listing namespace "${namespace}"`, async (deadline) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const snapshot = await this.calls.listOnce(namespace, deadline);
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
      throw new InvalidOptionsError(`not an etcd cursor (list() returns one): ${JSON.stringify(cursor)}`);
    const observed = this.observed;
    const deliver = (change: BackendChange) => {
      if (change.type === 'delete') {
        this.leases.deletedAt(change.key, change.revision);
        observed?.forget(change.key, change.revision);
      } else if (change.type === 'put') observed?.seen(change.key, change.revision);
      onChange(change);
    };
    const feed = new EtcdFeed(client, this.settings.layout, from + 1, deliver, this.logger);
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
    return this.request(`reading the history of "${key}"`, async (deadline) => {
      const current = await this.read(key, deadline);
      return readNodeHistory(this.calls, this.settings.layout, key, current, limit, deadline);
    });
  }

  /** See `namespace-inspect.ts`: one range read of the config key, writes nothing. */
  async inspect(): Promise<NamespaceInspection> {
    if (this.lifecycle.isClosed) throw new DiscoveryClosedError('the etcd backend is closed');
    const { layout, hosts, namespace, connectTimeout: timeout, ownsClient: owned } = this.settings;
    const client = this.options.client ?? createClient(this.options);
    return inspectConfigKey({ client, owned, layout, namespace, hosts, timeout });
  }

  /**
   * Stops the feeds and keep-alive streams and closes a client we made, without waiting on the
   * server. Spare leases are left to run out on the server (seconds): revoking them could keep
   * a call, and the process, waiting on a frozen server.
   */
  async close(): Promise<void> {
    if (!this.lifecycle.beginClose()) return;
    await Promise.all([...this.feeds].map((feed) => feed.stop()));
    this.supply?.close();
    this.keepAlive?.close();
    if (this.settings.ownsClient) this.client?.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  /** See `namespace-open.ts`: the config key, the lease plan and the lease supply. */
  private async setUp(client: Etcd3, ttl: number, deadline: number): Promise<void> {
    const opened = await openNamespace(client, this.settings, ttl, deadline, this.logger, {
      grant: () => this.grant(Date.now() + this.settings.requestTimeout),
      revoke: (id) => this.revoke(id),
      renew: (id) => void this.keepAlive?.renew(id).catch(() => {}),
    });
    this.plan = opened.plan;
    this.observed = opened.observed;
    this.supply = opened.supply;
  }

  private ready(): Etcd3 {
    this.lifecycle.assertOpen();
    if (!this.client) throw new DiscoveryClosedError('the etcd backend is not open');
    return this.client;
  }

  /** One call that waits on the server, on an open backend, settled within `requestTimeout` (rule 14 of docs/guarantees.md). */
  private request<T>(what: string, work: (deadline: number) => Promise<T>): Promise<T> {
    this.ready();
    const { requestTimeout, hosts } = this.settings;
    return withDeadline(work, requestTimeout, () =>
      requestTimedOut({ server: `etcd at ${hosts}`, what, timeout: requestTimeout }),
    );
  }

  private grant(deadline: number): Promise<string> {
    return this.calls.grant(this.plan!.seconds, deadline);
  }

  private revoke(lease: string): void {
    this.client?.leaseClient
      .leaseRevoke({ ID: lease }, callOptions(Date.now() + this.settings.requestTimeout))
      .catch(() => {});
  }

  private async read(key: string, deadline: number): Promise<StoredNode | undefined> {
    const kv = await this.calls.rangeOne(this.settings.layout.node(key), deadline);
    if (!kv) return undefined;
    const revision = Number(kv.mod_revision);
    this.leases.set(key, revision, kv.lease);
    return { key, value: new Uint8Array(kv.value), revision, lease: kv.lease };
  }
}
