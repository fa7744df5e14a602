// The etcd v3 backend: the SPI methods, open and close, over the connection, calls, writes, deletes and feeds of one namespace.
import { DiscoveryClosedError, type NamespaceInspection } from '@roster/core';
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
  resolveEtcdSettings,
} from './etcd-backend-options.js';
import { EtcdCalls, type StoredNode } from './etcd-calls.js';
import { EtcdConnection } from './etcd-connection.js';
import { EtcdDeletes } from './etcd-deletes.js';
import { isCompacted, toBackendError } from './etcd-errors.js';
import { EtcdWatches } from './etcd-watches.js';
import { EtcdWrites, type WriteContext } from './etcd-writes.js';
import { HEDGE_MS, hedged } from './hedge.js';
import { KeyReadBatch } from './key-read-batch.js';
import { inspectConfigKey } from './namespace-inspect.js';
import { readNodeHistory } from './node-history.js';
import { NodeLeases } from './node-leases.js';

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
  private readonly connection: EtcdConnection;
  private readonly leases: NodeLeases;
  private readonly calls: EtcdCalls;
  private readonly writes: EtcdWrites;
  private readonly deletes: EtcdDeletes;
  private readonly watches: EtcdWatches;
  private readonly lifecycle = new BackendLifecycle('etcd');

  constructor(private readonly options: EtcdBackendOptions) {
    this.settings = resolveEtcdSettings(options);
    const { layout, hosts } = this.settings;
    this.calls = new EtcdCalls(
      () => this.ready(),
      layout,
      hosts,
      () => this.connection.logger,
    );
    const connection = new EtcdConnection(options, this.settings, this.calls);
    this.connection = connection;
    this.leases = new NodeLeases(
      () => connection.keepAlive,
      () => connection.plan,
      hosts,
    );
    const writeContext: WriteContext = {
      layout,
      calls: this.calls,
      hosts,
      // On a cluster, sent again beside itself when not answered soon (see hedge.ts): a heartbeat
      // must not wait out the request timeout on a frozen member.
      heartbeatReads: new KeyReadBatch((keys, deadline) => {
        const read = this.calls.readKeys(keys, deadline);
        if (!connection.health?.several) return read;
        return hedged(read, HEDGE_MS, () => this.calls.readKeys(keys, deadline));
      }),
      client: () => connection.client,
      plan: () => connection.plan,
      observed: () => connection.observed,
      supply: () => connection.supply!,
      logger: () => connection.logger,
      grant: (deadline) => connection.grant(deadline),
      read: (key, deadline) => this.read(key, deadline),
    };
    this.writes = new EtcdWrites(writeContext, this.leases);
    this.deletes = new EtcdDeletes(writeContext, this.leases);
    this.watches = new EtcdWatches(layout, this.leases);
  }

  /**
   * Depends on the ttl and on the server (read after `open()`): with the `lease` plan heartbeats
   * are silent and expiry comes from the feed; with the `observed` plan (a ttl below what the
   * server's leases can time) heartbeats are writes and core's sweeper confirms expiry via `get()`.
   */
  get supports(): BackendCapabilities {
    const observed = this.connection.plan?.mode === 'observed';
    return { persistent: true, history: true, nativeExpiryEvents: !observed, silentHeartbeats: !observed };
  }

  async open(context: BackendOpenContext): Promise<void> {
    this.lifecycle.beginOpen();
    this.connection.connect(context.logger);
    try {
      await this.connection.openNamespace(context.ttl);
      this.lifecycle.opened();
    } catch (error) {
      await this.close();
      throw toBackendError(error, `opening namespace "${this.settings.namespace}"`, this.settings.hosts);
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
      if (current && this.connection.observed?.stale(key, current.revision)) {
        if (await this.deletes.expire(key, current, deadline)) return undefined;
        current = await this.read(key, deadline);
      }
      if (!current) {
        this.connection.observed?.forget(key);
        return undefined;
      }
      this.connection.observed?.seen(key, current.revision);
      return { key: current.key, value: current.value, revision: current.revision };
    });
  }

  async list(): Promise<BackendSnapshot> {
    const { namespace } = this.settings;
    return this.request(`listing namespace "${namespace}"`, async (deadline) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const snapshot = await this.calls.listOnce(namespace, deadline);
          for (const entry of snapshot.entries) this.connection.observed?.seen(entry.key, entry.revision);
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
    const { logger, health, observed } = this.connection;
    return this.watches.start({ client, logger, health, observed }, cursor, onChange);
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

  /** Stops the feeds, then the connection (etcd-connection.ts), without waiting on the server. */
  async close(): Promise<void> {
    if (!this.lifecycle.beginClose()) return;
    await this.watches.stopAll();
    this.connection.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  private ready(): Etcd3 {
    this.lifecycle.assertOpen();
    const client = this.connection.client;
    if (!client) throw new DiscoveryClosedError('the etcd backend is not open');
    return client;
  }

  /** One call that waits on the server, on an open backend, settled within `requestTimeout` (rule 14 of docs/guarantees.md). */
  private request<T>(what: string, work: (deadline: number) => Promise<T>): Promise<T> {
    this.ready();
    const { requestTimeout, hosts } = this.settings;
    return withDeadline(work, requestTimeout, () =>
      requestTimedOut({ server: `etcd at ${hosts}`, what, timeout: requestTimeout }),
    );
  }

  private async read(key: string, deadline: number): Promise<StoredNode | undefined> {
    const kv = await this.calls.rangeOne(this.settings.layout.node(key), deadline);
    if (!kv) return undefined;
    const revision = Number(kv.mod_revision);
    this.leases.set(key, revision, kv.lease);
    return { key, value: new Uint8Array(kv.value), revision, lease: kv.lease };
  }
}
