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
import { EtcdFeed } from './etcd-feed.js';
import { DEFAULT_PREFIX, KeyLayout, prefixEnd } from './key-layout.js';
import { LeaseKeepAlive } from './lease-keep-alive.js';
import { LeaseSupply } from './lease-supply.js';
import { assertGrantedTtl, leaseSeconds } from './lease-ttl.js';

const DEFAULT_CONNECT_TIMEOUT = 5_000;
const DEFAULT_REQUEST_TIMEOUT = 10_000;
/** Keys per range call of `list()`: keeps each answer well under grpc's 4 MiB message limit. */
const LIST_PAGE = 5_000;
const CONFIG_VERSION = 1;

/**
 * The etcd v3 backend, on `etcd3`. Each node is a key `<prefix>/<namespace>/nodes/<id>` under a
 * lease of its own (TTL = ttl rounded up to whole seconds), renewed by each put, so a node that is
 * not put again expires even while the process that wrote it lives. A namespace is listed at one
 * revision and watched from the next, so nothing is missed; lease expiry arrives as a delete and is
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
  readonly supports: BackendCapabilities = { persistent: true, history: true, nativeExpiryEvents: true };
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
  private seconds = 0;
  /** The lease of each key as of a revision we wrote or read, so a compare-and-set put needs no extra read. */
  private readonly leases = new Map<string, { revision: number; lease: string }>();
  private readonly feeds = new Set<BackendWatch>();
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

  async open(context: BackendOpenContext): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError('the etcd backend is closed');
    if (this.opened) throw new Error('the etcd backend is already open');
    this.logger = context.logger;
    this.seconds = leaseSeconds(context.ttl);
    const client = this.options.client ?? this.createClient();
    this.client = client;
    this.keepAlive = new LeaseKeepAlive(client, this.requestTimeout);
    this.supply = new LeaseSupply(
      () => this.grant(),
      (id) => this.revoke(id),
      (id) => void this.keepAlive!.renew(id).catch(() => {}),
      this.seconds,
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BackendUnavailableError(
              `etcd at ${this.hosts} did not answer within ${this.connectTimeout} ms (connectTimeout)`,
            ),
          ),
        this.connectTimeout,
      );
    });
    try {
      await Promise.race([this.setUp(client, context.ttl), deadline]);
      this.opened = true;
    } catch (error) {
      await this.close();
      if (error instanceof DiscoveryError) throw error;
      throw toBackendError(error, `open namespace "${this.namespaceName}"`, this.hosts);
    } finally {
      clearTimeout(timer);
    }
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    this.ready();
    const expected = options.expectedRevision;
    const history = !(options.refreshOnly ?? false);
    if (typeof expected !== 'number')
      return this.putUnderNewLease(
        key,
        value,
        expected === null ? [absent(this.layout.node(key))] : [],
        history,
      );
    let lease = this.leaseAt(key, expected);
    if (lease === undefined) {
      const current = await this.read(key);
      if (!current || current.revision !== expected) return { ok: false };
      lease = current.lease;
    }
    const condition = [modifiedAt(this.layout.node(key), expected)];
    // A key without a lease was written by another tool: it gets one, as every Roster key has.
    if (lease === '0') return this.putUnderNewLease(key, value, condition, history);
    let response: ITxnResponse;
    try {
      response = await this.txn('put', condition, this.writeOps(key, value, lease, history));
    } catch (error) {
      // The key's lease ran out between the compare and the put: the key is gone, a conflict.
      if (isLeaseNotFound(error)) return { ok: false };
      throw error;
    }
    if (!response.succeeded) return { ok: false };
    return { ok: true, revision: this.landed(key, response, lease) };
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    this.ready();
    const expected = condition.expectedRevision;
    if (expected === null) return false;
    for (let attempt = 0; attempt < 5; attempt++) {
      let revision = expected;
      let lease = revision === undefined ? undefined : this.leaseAt(key, revision);
      if (lease === undefined || revision === undefined) {
        const current = await this.read(key);
        if (!current || (expected !== undefined && current.revision !== expected)) return false;
        revision = current.revision;
        lease = current.lease;
      }
      // The marker rides on the node's own lease, so it is gone within a ttl without anyone removing it.
      const markerLease = lease === '0' ? await this.grant() : lease;
      let response: ITxnResponse;
      try {
        response = await this.txn(
          'delete',
          [modifiedAt(this.layout.node(key), revision)],
          [
            { request_delete_range: { key: this.layout.node(key) } },
            { request_put: { key: this.layout.leave(key), value: Buffer.alloc(0), lease: markerLease } },
          ],
        );
      } catch (error) {
        if (!isLeaseNotFound(error)) throw error;
        this.leases.delete(key);
        continue;
      }
      if (response.succeeded) {
        this.leases.delete(key);
        return true;
      }
      if (expected !== undefined) return false;
    }
    return false;
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    this.ready();
    const current = await this.read(key);
    return current && { key: current.key, value: current.value, revision: current.revision };
  }

  async list(): Promise<BackendSnapshot> {
    const client = this.ready();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.listOnce(client);
      } catch (error) {
        // Compaction between two pages: start over at a newer revision.
        if (!isCompacted(error) || attempt >= 2) throw error;
      }
    }
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const client = this.ready();
    const from = Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0)
      throw new Error(`not an etcd cursor: ${JSON.stringify(cursor)}`);
    const feed = new EtcdFeed(client, this.layout, from + 1, onChange, this.logger);
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
    const values: Uint8Array[] = [];
    const current = await this.read(key);
    if (current) values.push(current.value);
    // Heartbeats do not write history/<id>, so each version of it is a real state; a few extra
    // cover re-registrations that core folds away (only lastSeen differs).
    const wanted = limit * 2 + 1;
    let version = await this.rangeOne(client, this.layout.history(key));
    while (version && values.length < wanted) {
      values.push(new Uint8Array(version.value));
      const before = Number(version.mod_revision) - 1;
      if (before < 1) break;
      try {
        version = await this.rangeOne(client, this.layout.history(key), before);
      } catch (error) {
        if (isCompacted(error)) break;
        throw error;
      }
    }
    return values;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.feeds].map((feed) => feed.stop()));
    this.supply?.close();
    this.keepAlive?.close();
    if (this.ownsClient) this.client?.close();
  }

  // ---- internals ------------------------------------------------------------------------------

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

  /** Creates the namespace's config key, or checks that the existing one was made with the same ttl; checks the lease minimum. */
  private async setUp(client: Etcd3, ttl: number): Promise<void> {
    const config = Buffer.from(JSON.stringify({ v: CONFIG_VERSION, ttl }));
    const response = await client.kv.txn(
      {
        compare: [absent(this.layout.config)],
        success: [{ request_put: { key: this.layout.config, value: config } }],
        failure: [{ request_range: { key: this.layout.config } }],
      },
      this.callOptions(),
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
    const probe = await client.leaseClient.leaseGrant({ TTL: this.seconds }, this.callOptions());
    try {
      assertGrantedTtl(this.seconds, Number(probe.TTL), ttl);
    } catch (error) {
      client.leaseClient.leaseRevoke({ ID: probe.ID }, this.callOptions()).catch(() => {});
      throw error;
    }
    // The probe becomes the first new node's lease rather than a wasted grant.
    this.supply!.offer(probe.ID, grantedAt);
  }

  private ready(): Etcd3 {
    if (this.closed || !this.opened || !this.client)
      throw new DiscoveryClosedError('the etcd backend is not open');
    return this.client;
  }

  private callOptions(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.requestTimeout) };
  }

  private leaseAt(key: string, revision: number): string | undefined {
    const known = this.leases.get(key);
    return known && known.revision === revision ? known.lease : undefined;
  }

  private writeOps(key: string, value: Uint8Array, lease: string, history: boolean): IRequestOp[] {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const ops: IRequestOp[] = [{ request_put: { key: this.layout.node(key), value: bytes, lease } }];
    if (history) ops.push({ request_put: { key: this.layout.history(key), value: bytes, lease } });
    return ops;
  }

  private async putUnderNewLease(
    key: string,
    value: Uint8Array,
    condition: ICompare[],
    history: boolean,
  ): Promise<PutResult> {
    for (let attempt = 0; ; attempt++) {
      const lease = attempt === 0 ? await this.supply!.take() : await this.grant();
      let response: ITxnResponse;
      try {
        response = await this.txn('put', condition, this.writeOps(key, value, lease, history));
      } catch (error) {
        // The fresh lease ran out before the put reached the server (a frozen server): take another.
        if (isLeaseNotFound(error) && attempt < 2) continue;
        throw error;
      }
      if (!response.succeeded) {
        this.revoke(lease);
        return { ok: false };
      }
      return { ok: true, revision: this.landed(key, response, lease) };
    }
  }

  /**
   * Records the lease of the new revision and restarts the lease's TTL: sent after the put
   * committed, so the key lives at least ttl past the write core counts as the last heartbeat.
   * Not awaited: the renewal rides an open stream and costs the server no raft write, so waiting
   * for its answer would only halve heartbeat throughput.
   */
  private landed(key: string, response: ITxnResponse, lease: string): number {
    const revision = Number(response.header.revision);
    this.leases.set(key, { revision, lease });
    this.keepAlive!.renew(lease).then(
      (ttl) => {
        if (ttl <= 0)
          this.logger.debug(`the lease of "${key}" ran out right after a put; the key will be reported gone`);
      },
      // The put landed; the lease keeps the TTL of its previous renewal, and the next put renews it again.
      (error) => this.logger.debug(`could not renew the lease of "${key}"`, { key, error }),
    );
    return revision;
  }

  private async grant(): Promise<string> {
    const client = this.ready();
    try {
      return (await client.leaseClient.leaseGrant({ TTL: this.seconds }, this.callOptions())).ID;
    } catch (error) {
      throw toBackendError(error, 'grant a lease', this.hosts);
    }
  }

  private revoke(lease: string): void {
    this.client?.leaseClient.leaseRevoke({ ID: lease }, this.callOptions()).catch(() => {});
  }

  private async txn(what: string, compare: ICompare[], success: IRequestOp[]): Promise<ITxnResponse> {
    const client = this.ready();
    try {
      return await client.kv.txn({ compare, success, failure: [] }, this.callOptions());
    } catch (error) {
      if (isLeaseNotFound(error)) throw error;
      throw toBackendError(error, what, this.hosts);
    }
  }

  private async read(key: string): Promise<StoredNode | undefined> {
    const kv = await this.rangeOne(this.ready(), this.layout.node(key));
    if (!kv) return undefined;
    const revision = Number(kv.mod_revision);
    this.leases.set(key, { revision, lease: kv.lease });
    return { key, value: new Uint8Array(kv.value), revision, lease: kv.lease };
  }

  private async rangeOne(client: Etcd3, key: Buffer, revision?: number): Promise<IKeyValue | undefined> {
    try {
      const response = await client.kv.range(
        revision === undefined ? { key } : { key, revision },
        this.callOptions(),
      );
      return response.kvs[0];
    } catch (error) {
      if (isCompacted(error)) throw error;
      throw toBackendError(error, `read ${key.toString()}`, this.hosts);
    }
  }

  private async listOnce(client: Etcd3): Promise<BackendSnapshot> {
    const end = prefixEnd(this.layout.nodesPrefix);
    const entries: BackendEntry[] = [];
    let start = this.layout.nodesPrefix;
    let revision: string | undefined;
    for (;;) {
      let response: Awaited<ReturnType<Etcd3['kv']['range']>>;
      try {
        response = await client.kv.range(
          { key: start, range_end: end, limit: LIST_PAGE, ...(revision ? { revision } : {}) },
          this.callOptions(),
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
