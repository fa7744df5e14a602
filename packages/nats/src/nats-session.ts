// One opened namespace on NATS: the connection, its JetStream handles and buckets, set up again if the stream is deleted beneath us.
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { DiscoveryClosedError, type Logger } from '@roster/core';
import type { BackendCapabilities, BackendEntry, BackendLifecycle } from '@roster/core/spi';
import { ConnectionOutage } from './connection-outage.js';
import { LeaderAdvisory } from './leader-advisory.js';
import { openNamespaceBuckets, openNamespaceHistory } from './namespace-buckets.js';
import { connectionOptionsOf, type NatsBackendOptions, type NatsSettings } from './nats-backend-options.js';
import { clientTimeout, openConnection, openJetStream, untilAvailable } from './nats-connection.js';
import { isStreamNotFound, isTemporarilyUnavailable, toBackendError } from './nats-errors.js';
import { type ConsumerFactory, consumerFactory } from './ordered-consumer.js';
import { markerTtlFor } from './server-version.js';
import { StreamWatchdog } from './stream-watchdog.js';

/**
 * What `open()` sets up and `close()` takes down. Every step of the set-up that meets a cluster
 * electing a leader (503) is retried while the open is under way (`untilAvailable`); none of them
 * needs the meta leader once the namespace's buckets exist (see kv-leader-snapshot.ts for lists).
 */
export class NatsSession {
  private nc: NatsConnection | undefined;
  private ownsConnection = false;
  private jsm: JetStreamManager | undefined;
  private kvm: Kvm | undefined;
  private records: KV | undefined;
  /** Where `get()` reads (see `NamespaceBuckets.reader`). */
  private reader: KV | undefined;
  private outage: ConnectionOutage | undefined;
  /** Leader elections of a replicated records stream (see `LeaderAdvisory`). */
  private advisory: LeaderAdvisory | undefined;
  /** Whether the records stream has more than one replica (it then elects leaders). */
  private replicated = false;
  /** > 0: the limit markers' TTL asked of the server (see `markerTtlFor`), fixed at open. */
  private markerTTL = 0;
  /** The history bucket once open; undefined if it could not be (see `openHistory`). */
  private historyOpen: Promise<KV | undefined> = Promise.resolve(undefined);
  watchdog: StreamWatchdog | undefined;
  /** How lists and feeds create their ordered consumers (see `createOrderedConsumer`). */
  consumers: ConsumerFactory | undefined;
  /** What the buckets turned out to support; undefined until they are open. */
  capabilities: BackendCapabilities | undefined;

  constructor(
    private readonly options: NatsBackendOptions,
    private readonly settings: NatsSettings,
    private readonly ttl: number,
    private readonly logger: Logger,
    private readonly lifecycle: BackendLifecycle,
  ) {}

  /** Connects (or adopts `options.connection`), opens the buckets and starts the watchers. */
  async setUp(): Promise<void> {
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
    const jsm = await this.whileOpening(() => openJetStream(nc, server, clientTimeout(requestTimeout)));
    this.jsm = jsm;
    // checkAPI: false — openJetStream did the account check; kv's create/open would repeat it, and
    // it answers 503 on every member while the meta group elects (a resumed member), see there.
    this.kvm = new Kvm(jetstream(nc, { timeout: clientTimeout(requestTimeout), checkAPI: false }));
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
    await this.whileOpening(() => this.openBuckets());
    this.lifecycle.assertOpening();
    this.outage = new ConnectionOutage(nc, this.logger, (at) =>
      this.watchdog?.resyncAll(`reconnected to NATS at ${at}`),
    );
    this.watchdog.start(this.settings.streamCheckInterval);
    this.listenForLeaderElections();
  }

  /** The records bucket, or `DiscoveryClosedError` once the backend is closed (or before it opened). */
  ready(): KV {
    this.lifecycle.assertOpen();
    if (!this.records) throw new DiscoveryClosedError('the NATS backend is not open');
    return this.records;
  }

  /** The history bucket, once open (history writes and reads wait for it). */
  historyBucket(): Promise<KV | undefined> {
    return this.historyOpen;
  }

  /** The JetStream manager (stream info, direct gets). */
  manager(): JetStreamManager {
    this.ready();
    if (!this.jsm) throw new DiscoveryClosedError('the NATS backend is not open');
    return this.jsm;
  }

  /** While the connection is down, waits for the reconnect (within the request timeout; see ConnectionOutage). */
  async connected(): Promise<void> {
    await this.outage?.ensureUp(this.settings.requestTimeout, this.settings.server);
    this.ready();
  }

  /**
   * Runs a bucket operation; when the stream turns out to be gone (deleted beneath us), sets the
   * buckets up again — once, however many operations noticed — and retries.
   */
  async withBucket<T>(operation: (kv: KV) => Promise<T>): Promise<T> {
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
  async readLatest(key: string): Promise<BackendEntry | undefined> {
    const entry = await (this.reader ?? this.ready()).get(key);
    if (entry?.operation !== 'PUT') return undefined;
    return { key, value: entry.value, revision: entry.revision };
  }

  /** What failed `what`, as a Roster error; `DiscoveryClosedError` once closed. */
  failure(error: unknown, what: string): Error {
    if (this.lifecycle.isClosed) return new DiscoveryClosedError('the NATS backend was closed');
    return toBackendError(error, what, this.settings.server);
  }

  /** Stops the timers and status loops at once (the feeds are stopped by the backend). */
  stopWatching(): void {
    this.watchdog?.stop();
    this.advisory?.stop();
    this.outage?.stop();
  }

  /** Closes our own connection (never one the options handed us), which drops its socket. */
  async releaseConnection(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    if (nc && this.ownsConnection && !nc.isClosed()) await nc.close().catch(() => {});
  }

  private whileOpening<T>(step: () => Promise<T>): Promise<T> {
    return untilAvailable(step, () => this.lifecycle.state === 'opening', this.logger, this.settings.server);
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

  /**
   * Opens the history bucket. When its stream cannot answer now (503: its own leader, or the meta
   * leader for a missing bucket, being elected — a member that resumed after a freeze), `open()`
   * does not wait for it: it is opened in the background and history writes and reads wait for
   * it (history is best effort; a write still in flight at close gets close's short grace). Any
   * other failure (a permission the user lacks) fails `open()`, as before.
   */
  private async openHistory(kvm: Kvm): Promise<void> {
    const { layout, server } = this.settings;
    const open = () => openNamespaceHistory(kvm, this.settings, this.ttl);
    try {
      this.historyOpen = Promise.resolve(await open());
    } catch (error) {
      if (!isTemporarilyUnavailable(error)) throw error;
      this.logger.info(`NATS KV bucket "${layout.history}" cannot be opened now; history writes wait for it`);
      this.historyOpen = untilAvailable(open, () => !this.lifecycle.isClosed, this.logger, server).catch(
        (failure: unknown) => {
          this.logger.warn(
            `could not open NATS KV bucket "${layout.history}"; history() returns current states only`,
            {
              error: failure,
            },
          );
          return undefined;
        },
      );
    }
  }

  private async openBuckets(): Promise<void> {
    const kvm = this.kvm;
    if (!kvm || !this.watchdog || !this.nc) throw new DiscoveryClosedError('the NATS backend is not open');
    try {
      const buckets = await openNamespaceBuckets(kvm, this.settings, this.ttl, this.markerTTL, this.logger);
      this.records = buckets.records;
      this.reader = buckets.reader;
      await this.openHistory(kvm);
      this.watchdog.created = buckets.streamCreated;
      this.capabilities = buckets.capabilities;
      if (this.jsm)
        this.consumers = consumerFactory(this.nc, this.jsm, this.settings.requestTimeout, buckets.replicas);
      this.replicated = buckets.replicas > 1;
    } catch (error) {
      throw this.failure(error, `setting up bucket "${this.settings.layout.records}"`);
    }
  }
}
