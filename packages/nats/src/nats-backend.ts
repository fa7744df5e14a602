// The NATS JetStream KV backend: the SPI methods, open and close, on the buckets of one namespace.
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
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
import { ConnectionOutage } from './connection-outage.js';
import { KvChangeFeed } from './kv-change-feed.js';
import { deleteKey } from './kv-delete.js';
import { readSnapshot } from './kv-snapshot.js';
import { LeaderAdvisory } from './leader-advisory.js';
import { openNamespaceBuckets } from './namespace-buckets.js';
import { inspectRecordsBucket } from './namespace-inspect.js';
import {
  connectionOptionsOf,
  type NatsBackendOptions,
  type NatsSettings,
  resolveNatsSettings,
} from './nats-backend-options.js';
import { DEFAULT_CONNECT_TIMEOUT, openConnection, openJetStream, untilAvailable } from './nats-connection.js';
import { isStreamNotFound, isWriteConflict, toBackendError } from './nats-errors.js';
import { HistoryWrites, readHistory } from './node-history.js';
import { type ConsumerFactory, consumerFactory } from './ordered-consumer.js';
import { markerTtlFor } from './server-version.js';
import { StreamWatchdog } from './stream-watchdog.js';

export type { NatsBackendOptions } from './nats-backend-options.js';

/** Ms close() waits for feeds to unsubscribe and history writes to land before it drops the connection. */
const CLOSE_GRACE = 500;

/**
 * Roster on NATS JetStream KV: one bucket per namespace (`roster_<namespace>`), a key per node
 * id, MaxAge = ttl, the change feed from one ordered consumer. Needs a server with JetStream
 * (`nats-server -js`).
 *
 * @example
 * ```ts
 * import { createDiscovery } from '@roster/core';
 * import { natsBackend } from '@roster/nats';
 *
 * await using discovery = await createDiscovery({
 *   backend: natsBackend({ servers: 'nats://127.0.0.1:4222', namespace: 'prod' }),
 *   ttl: 10_000,
 * });
 * await discovery.register({ id: 'api-1', address: '10.0.0.5:8080' });
 * ```
 */
export function natsBackend(options: NatsBackendOptions = {}): DiscoveryBackend {
  return new NatsBackend(options);
}

class NatsBackend implements DiscoveryBackend {
  readonly name = 'nats';
  /** The namespace's name: core reports it in metrics (`roster.namespace`, docs/metrics.md). */
  get namespace(): string {
    return this.settings.namespace;
  }
  private capabilities: BackendCapabilities;
  private readonly settings: NatsSettings;
  private nc: NatsConnection | undefined;
  private ownsConnection = false;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private kvm: Kvm | undefined;
  private records: KV | undefined;
  /** Where `get()` reads (see `NamespaceBuckets.reader`). */
  private reader: KV | undefined;
  private historyKv: KV | undefined;
  private ttl = 0;
  /** Whether the records stream has more than one replica (it then elects leaders). */
  private replicated = false;
  private markerTTL = 0;
  private logger: Logger = silentLogger;
  private readonly historyWrites: HistoryWrites;
  private outage: ConnectionOutage | undefined;
  private watchdog: StreamWatchdog | undefined;
  /** How lists and feeds create their ordered consumers (see `createOrderedConsumer`). */
  private consumers: ConsumerFactory | undefined;
  /** Leader elections of a replicated records stream (see `LeaderAdvisory`). */
  private advisory: LeaderAdvisory | undefined;
  private readonly lifecycle = new BackendLifecycle('NATS');

  constructor(private readonly options: NatsBackendOptions) {
    this.settings = resolveNatsSettings(options);
    this.historyWrites = new HistoryWrites(this.settings.layout.history, () => this.logger);
    this.capabilities = {
      persistent: this.settings.storage === 'file',
      history: true,
      nativeExpiryEvents: false,
    };
  }

  get supports(): BackendCapabilities {
    return this.capabilities;
  }

  async open(context: BackendOpenContext): Promise<void> {
    this.lifecycle.beginOpen();
    this.ttl = context.ttl;
    this.logger = context.logger;
    const limit = Math.max(this.options.timeout ?? DEFAULT_CONNECT_TIMEOUT, this.settings.requestTimeout);
    try {
      await withDeadline(this.setUp(), limit, () =>
        requestTimedOut({
          server: `NATS at ${this.settings.server}`,
          what: 'opening the namespace',
          timeout: limit,
          option: 'timeout, requestTimeout',
        }),
      );
    } catch (error) {
      // A failed open leaves nothing running: no timer, no status loop, no socket (rule 14).
      await this.close();
      throw error;
    }
  }

  private async setUp(): Promise<void> {
    const { server, requestTimeout } = this.settings;
    let nc: NatsConnection;
    if (this.options.connection) {
      nc = this.options.connection;
    } else {
      nc = await openConnection(connectionOptionsOf(this.options), this.ttl);
      if (this.lifecycle.state !== 'opening') {
        // Closed (or timed out) while connecting: this connection is nobody's.
        await nc.close().catch(() => {});
        this.lifecycle.assertOpening();
      }
      this.ownsConnection = true;
    }
    this.nc = nc;
    const jsm = await this.untilAvailable(() => openJetStream(nc, server, requestTimeout));
    this.jsm = jsm;
    // checkAPI: false — openJetStream did the account check; kv's create/open would repeat it, and
    // it answers 503 on every member while the meta group elects (a resumed member), see there.
    this.js = jetstream(nc, { timeout: requestTimeout, checkAPI: false });
    this.kvm = new Kvm(this.js);
    this.markerTTL = markerTtlFor(nc.info?.version, this.options.limitMarkers, this.ttl);
    const quickJsm = await jetstreamManager(nc, {
      timeout: Math.max(1, Math.floor(requestTimeout / 4)),
      checkAPI: false,
    });
    this.watchdog = new StreamWatchdog(
      jsm,
      this.settings.layout,
      this.logger,
      () => this.lifecycle.isOpen,
      quickJsm,
    );
    this.lifecycle.assertOpening();
    await this.untilAvailable(() => this.openBuckets());
    this.lifecycle.assertOpening();
    this.outage = new ConnectionOutage(nc, this.logger, (at) =>
      this.watchdog?.resyncAll(`reconnected to NATS at ${at}`),
    );
    this.watchdog.start(this.settings.streamCheckInterval);
    this.listenForLeaderElections();
    this.lifecycle.opened();
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const expected = options.expectedRevision;
    const result = await this.request(`writing "${key}"`, () =>
      this.withBucket((kv) =>
        conflictAs({ ok: false } as PutResult, async () => {
          if (expected === null) return { ok: true, revision: await kv.create(key, value) };
          if (typeof expected === 'number')
            return { ok: true, revision: await kv.put(key, value, { previousSeq: expected }) };
          return { ok: true, revision: await kv.put(key, value) };
        }),
      ),
    );
    if (result.ok && !options.refreshOnly) this.historyWrites.remember(this.historyKv, key, value);
    return result;
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    return this.request(`deleting "${key}"`, () =>
      this.withBucket((kv) =>
        conflictAs(false, () => deleteKey(kv, key, condition.expectedRevision, (k) => this.readLatest(k))),
      ),
    );
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    return this.request(`reading "${key}"`, () => this.withBucket(() => this.readLatest(key)), 'reads');
  }

  async list(): Promise<BackendSnapshot> {
    const { layout, requestTimeout } = this.settings;
    return this.request(
      `listing bucket "${layout.records}"`,
      () =>
        this.withBucket(() => readSnapshot(this.consumers!, this.jsm!, layout, this.logger, requestTimeout)),
      'reads',
    );
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const consumers = this.consumers;
    const watchdog = this.watchdog;
    this.lifecycle.assertOpen();
    if (!consumers || !watchdog) throw new DiscoveryClosedError('the NATS backend is not open');
    const from = Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0)
      throw new InvalidOptionsError(`a NATS cursor is a stream sequence, got ${JSON.stringify(cursor)}`);
    const feed = new KvChangeFeed(
      consumers,
      this.settings.layout,
      from,
      onChange,
      this.logger,
      (ended) => watchdog.feeds.delete(ended),
      (what) => void watchdog.check(what),
    );
    watchdog.feeds.add(feed);
    return feed;
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    assertValidKey(key);
    const historyKv = this.historyKv;
    return this.request(`reading the history of "${key}"`, async () => {
      await this.historyWrites.settled();
      await this.connected();
      const current = await this.readLatest(key);
      return readHistory(historyKv, key, current?.value, limit);
    });
  }

  /** See `namespace-inspect.ts`: reads the bucket's stream info, creates nothing. */
  inspect(): Promise<NamespaceInspection> {
    if (this.lifecycle.isClosed)
      return Promise.reject(new DiscoveryClosedError('the NATS backend is closed'));
    return inspectRecordsBucket(this.options, this.settings);
  }

  /**
   * Always finishes quickly, also against a frozen server (rule 14 of docs/guarantees.md): core's
   * close() unregisters first and must still settle within the request timeout. Feeds unsubscribe
   * at once (their ephemeral consumers are deleted in the background, or reaped by the server);
   * history writes still in flight get a short grace, as history is best effort; then our own
   * connection is closed, which drops its socket.
   */
  async close(): Promise<void> {
    if (!this.lifecycle.beginClose()) return;
    const { requestTimeout } = this.settings;
    this.watchdog?.stop();
    this.advisory?.stop();
    this.outage?.stop();
    const polite = Promise.all([
      ...[...(this.watchdog?.feeds ?? [])].map((feed) => feed.stop()),
      this.historyWrites.settled(),
    ]).then(() => {});
    const grace = Math.min(CLOSE_GRACE, requestTimeout / 4);
    await withDeadline(polite, grace, () => new Error('close: server too slow')).catch(() => {});
    await withDeadline(this.releaseConnection(), requestTimeout / 2, () => new Error('close')).catch(
      () => {},
    );
  }

  // ---------------------------------------------------------------------------------------------

  /** While the connection is down, waits for the reconnect (within the request timeout; see ConnectionOutage). */
  private async connected(): Promise<void> {
    await this.outage?.ensureUp(this.settings.requestTimeout, this.settings.server);
    this.ready();
  }

  private untilAvailable<T>(step: () => Promise<T>): Promise<T> {
    return untilAvailable(step, () => this.lifecycle.state === 'opening', this.logger, this.settings.server);
  }

  /**
   * One call that waits on the server: within the request timeout (rule 14), failing as a Roster
   * error. A read (`retry: 'reads'`) that meets a cluster electing its meta leader ("temporarily
   * unavailable", 4-8 s on nats-server 2.9 after a member resumes) is tried again within the same
   * deadline; a write is not, as a refused write is the caller's to retry.
   */
  private async request<T>(what: string, work: () => Promise<T>, retry?: 'reads'): Promise<T> {
    this.ready();
    const { requestTimeout, server } = this.settings;
    let settled = false;
    const attempt = retry
      ? untilAvailable(work, () => !settled && !this.lifecycle.isClosed, this.logger, server)
      : work();
    try {
      return await withDeadline(attempt, requestTimeout, () =>
        requestTimedOut({ server: `NATS at ${server}`, what, timeout: requestTimeout }),
      );
    } catch (error) {
      throw this.failure(error, what);
    } finally {
      settled = true;
    }
  }

  private ready(): KV {
    this.lifecycle.assertOpen();
    if (!this.records) throw new DiscoveryClosedError('the NATS backend is not open');
    return this.records;
  }

  /**
   * On a replicated records stream, re-lists the feeds as soon as the stream elects a leader
   * (see `StreamWatchdog.leaderElected`); a single replica has no elections.
   */
  private listenForLeaderElections(): void {
    if (!this.replicated || !this.nc || !this.watchdog || this.advisory) return;
    const watchdog = this.watchdog;
    this.advisory = new LeaderAdvisory(this.nc, this.settings.layout.stream, this.logger, (leader) =>
      watchdog.leaderElected(leader),
    );
  }

  private async openBuckets(): Promise<void> {
    const kvm = this.kvm;
    if (!kvm || !this.watchdog) throw new DiscoveryClosedError('the NATS backend is not open');
    try {
      const buckets = await openNamespaceBuckets(kvm, this.settings, this.ttl, this.markerTTL, this.logger);
      this.records = buckets.records;
      this.reader = buckets.reader;
      this.historyKv = buckets.history;
      this.watchdog.created = buckets.streamCreated;
      this.capabilities = buckets.capabilities;
      if (this.nc && this.jsm)
        this.consumers = consumerFactory(this.nc, this.jsm, this.settings.requestTimeout, buckets.replicas);
      this.replicated = buckets.replicas > 1;
    } catch (error) {
      throw this.failure(error, `setting up bucket "${this.settings.layout.records}"`);
    }
  }

  /**
   * Runs a bucket operation; when the stream turns out to be gone (deleted beneath us), sets the
   * buckets up again — once, however many operations noticed — and retries.
   */
  private async withBucket<T>(operation: (kv: KV) => Promise<T>): Promise<T> {
    if (this.outage?.down) await this.connected();
    try {
      return await operation(this.ready());
    } catch (error) {
      if (!isStreamNotFound(error) || !(await this.watchdog?.streamIsGone())) throw error;
    }
    await this.watchdog?.recreate(() => this.openBuckets());
    return operation(this.ready());
  }

  /** The key as the server holds it now (see `reader`): what core confirms an expiry with. */
  private async readLatest(key: string): Promise<BackendEntry | undefined> {
    const entry = await (this.reader ?? this.ready()).get(key);
    if (entry?.operation !== 'PUT') return undefined;
    return { key, value: entry.value, revision: entry.revision };
  }

  private failure(error: unknown, what: string): Error {
    if (this.lifecycle.isClosed) return new DiscoveryClosedError('the NATS backend was closed');
    return toBackendError(error, what, this.settings.server);
  }

  private async releaseConnection(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    if (nc && this.ownsConnection && !nc.isClosed()) await nc.close().catch(() => {});
  }
}

/** A compare-and-set the server refused because the key moved is the expected `conflict` result, not an error. */
async function conflictAs<T>(conflict: T, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isWriteConflict(error)) return conflict;
    throw error;
  }
}
