import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection, NodeConnectionOptions, Status } from '@nats-io/transport-node';
import {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  type BackendCapabilities,
  type BackendChange,
  type BackendEntry,
  type BackendFactoryOptions,
  type BackendOpenContext,
  type BackendSnapshot,
  BackendUnavailableError,
  type BackendWatch,
  type DiscoveryBackend,
  DiscoveryClosedError,
  InvalidOptionsError,
  type Logger,
  type PutOptions,
  type PutResult,
  silentLogger,
  type WriteCondition,
} from '@roster/core';
import {
  type BucketLayout,
  bucketLayout,
  openHistoryBucket,
  openRecordsBucket,
  type StorageKind,
} from './bucket-layout.js';
import { withDeadline } from './deadline.js';
import { KvChangeFeed } from './kv-change-feed.js';
import { readSnapshot } from './kv-snapshot.js';
import {
  DEFAULT_CONNECT_TIMEOUT,
  describeServers,
  openConnection,
  openJetStream,
} from './nats-connection.js';
import {
  isStreamNotFound,
  isTemporarilyUnavailable,
  isWriteConflict,
  toBackendError,
} from './nats-errors.js';
import { hasNativeExpiryEvents, markerTtlFor } from './server-version.js';

/**
 * Options of {@link natsBackend}. Give `servers` (and any connection option of
 * `@nats-io/transport-node`: `user`/`pass`, `token`, `authenticator` for nkeys or creds, `tls`,
 * `name`, `timeout` …) to let the backend open and close its own connection, or `connection`
 * to share one you manage (it is never closed by the backend).
 */
export interface NatsBackendOptions extends BackendFactoryOptions, Omit<NodeConnectionOptions, 'servers'> {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. Ignored when `connection` is given. */
  servers?: string | string[];
  /** A connection you opened; the backend uses it and leaves it open on `close()`. */
  connection?: NatsConnection;
  /** `file` (default; nodes survive a server restart) or `memory`. */
  storage?: StorageKind;
  /**
   * Messages kept per key in the records bucket (KV History, 1–64). Default 64: a watcher that
   * lags behind a key written that often misses none of its changes (MaxAge = ttl keeps storage small).
   */
  history?: number;
  /**
   * Replicas of the buckets in a JetStream cluster (1–5; 3 is usual). Default 1. On a replicated
   * bucket `get()` reads through the stream leader, never from a replica that may lag.
   */
  replicas?: number;
  /** States kept per node for `history()` in the history bucket (1–64). Default 10. */
  historyDepth?: number;
  /** Ms the history bucket keeps a state (its MaxAge); at least the ttl. Default 24 h. */
  historyMaxAge?: number;
  /**
   * Ms any call that waits on the server (open, put, delete, get, list, history, close) may take
   * before it settles, even against a frozen server (rule 14 of docs/guarantees.md). Default 5000.
   */
  requestTimeout?: number;
  /**
   * Ms between checks that the bucket's stream is still the one the feeds read (not deleted or
   * recreated beneath us). Default 5000.
   */
  streamCheckInterval?: number;
  /**
   * `auto` (default): on servers >= 2.11.2 create the bucket with limit markers, so the feed
   * reports expiries itself; `off`: always detect expiry client-side.
   */
  limitMarkers?: 'auto' | 'off';
}

/**
 * KV History of the records bucket. A feed that lags behind a key written more than History times
 * would find the older messages discarded and miss those changes, so the most NATS allows (64).
 * It costs no storage for heartbeats: MaxAge = ttl already drops every message older than the
 * ttl, so a key holds about ttl / heartbeat interval (3) messages however large History is.
 */
const DEFAULT_HISTORY = 64;
const DEFAULT_HISTORY_DEPTH = 10;
const DEFAULT_HISTORY_MAX_AGE = 24 * 60 * 60 * 1000;
const DEFAULT_REQUEST_TIMEOUT = 5_000;
const DEFAULT_STREAM_CHECK_INTERVAL = 5_000;
const DELETE_ATTEMPTS = 5;
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

function positiveInteger(
  name: string,
  value: unknown,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    throw new InvalidOptionsError(`${name} must be a whole number from 1 to ${max}, got ${String(value)}`);
  return value;
}

class NatsBackend implements DiscoveryBackend {
  readonly name = 'nats';
  private capabilities: BackendCapabilities;
  private readonly layout: BucketLayout;
  private readonly storage: StorageKind;
  private readonly historyLimit: number;
  private readonly historyDepth: number;
  private readonly historyMaxAge: number;
  private readonly replicas: number;
  private readonly requestTimeout: number;
  private readonly streamCheckInterval: number;
  private readonly server: string;
  private nc: NatsConnection | undefined;
  private ownsConnection = false;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private kvm: Kvm | undefined;
  private records: KV | undefined;
  /**
   * Where `get()` reads: the records bucket itself (direct get, answered by any replica) on a
   * single replica; a handle without direct get (STREAM.MSG.GET, answered by the stream leader) on
   * a replicated bucket, because core confirms an expiry with that read and a lagging replica
   * could still hold the key (issue 12).
   */
  private reader: KV | undefined;
  private historyKv: KV | undefined;
  private ttl = 0;
  private markerTTL = 0;
  private streamCreated = '';
  private logger: Logger = silentLogger;
  private readonly feeds = new Set<KvChangeFeed>();
  private readonly historyWrites = new Set<Promise<void>>();
  private statusIterator: (AsyncIterable<Status> & { stop?: () => void }) | undefined;
  private streamCheck: NodeJS.Timeout | undefined;
  private checking = false;
  private recreating: Promise<void> | undefined;
  /** Set while the connection is down: operations wait for the reconnect instead of timing out. */
  private outage: { promise: Promise<void>; resolve: () => void } | undefined;
  private state: 'new' | 'opening' | 'open' | 'closed' = 'new';

  constructor(private readonly options: NatsBackendOptions) {
    const namespace = options.namespace ?? 'default';
    assertValidNamespace(namespace);
    if (!options.connection && options.servers === undefined)
      throw new InvalidOptionsError(
        'natsBackend needs `servers` (e.g. "nats://127.0.0.1:4222") or a `connection`',
      );
    const storage = options.storage ?? 'file';
    if (storage !== 'file' && storage !== 'memory')
      throw new InvalidOptionsError(`storage must be "file" or "memory", got ${JSON.stringify(storage)}`);
    this.storage = storage;
    this.layout = bucketLayout(namespace);
    this.historyLimit = positiveInteger('history', options.history, DEFAULT_HISTORY, 64);
    this.historyDepth = positiveInteger('historyDepth', options.historyDepth, DEFAULT_HISTORY_DEPTH, 64);
    this.historyMaxAge = positiveInteger('historyMaxAge', options.historyMaxAge, DEFAULT_HISTORY_MAX_AGE);
    this.replicas = positiveInteger('replicas', options.replicas, 1, 5);
    this.requestTimeout = positiveInteger('requestTimeout', options.requestTimeout, DEFAULT_REQUEST_TIMEOUT);
    this.streamCheckInterval = positiveInteger(
      'streamCheckInterval',
      options.streamCheckInterval,
      DEFAULT_STREAM_CHECK_INTERVAL,
    );
    this.server = options.connection
      ? (options.connection.getServer() ?? 'the given connection')
      : describeServers(options.servers);
    this.capabilities = { persistent: storage === 'file', history: true, nativeExpiryEvents: false };
  }

  get supports(): BackendCapabilities {
    return this.capabilities;
  }

  async open(context: BackendOpenContext): Promise<void> {
    if (this.state !== 'new')
      throw new DiscoveryClosedError('a NATS backend can be opened once; create a new one');
    this.state = 'opening';
    this.ttl = context.ttl;
    this.logger = context.logger;
    const limit = Math.max(this.options.timeout ?? DEFAULT_CONNECT_TIMEOUT, this.requestTimeout);
    try {
      await withDeadline(
        this.setUp(),
        limit,
        () =>
          new BackendUnavailableError(
            `NATS at ${this.server} did not finish opening within ${limit} ms (the server is frozen or overloaded)`,
          ),
      );
    } catch (error) {
      // A failed open leaves nothing running: no timer, no status loop, no socket (rule 14).
      await this.close();
      throw error;
    }
  }

  private async setUp(): Promise<void> {
    const {
      connection,
      servers,
      namespace,
      storage,
      history,
      replicas,
      historyDepth,
      historyMaxAge,
      requestTimeout,
      streamCheckInterval,
      limitMarkers,
      ...connectionOptions
    } = this.options;
    let nc: NatsConnection;
    if (connection) {
      nc = connection;
    } else {
      nc = await openConnection({ ...connectionOptions, ...(servers !== undefined ? { servers } : {}) });
      if (this.state !== 'opening') {
        // Closed (or timed out) while connecting: this connection is nobody's.
        await nc.close().catch(() => {});
        throw new DiscoveryClosedError();
      }
      this.ownsConnection = true;
    }
    this.nc = nc;
    this.jsm = await this.untilAvailable(() => openJetStream(nc, this.server, this.requestTimeout));
    this.js = jetstream(nc, { timeout: this.requestTimeout });
    this.kvm = new Kvm(this.js);
    this.markerTTL = markerTtlFor(nc.info?.version, limitMarkers, this.ttl);
    if (this.state !== 'opening') throw new DiscoveryClosedError();
    await this.untilAvailable(() => this.openBuckets());
    if (this.state !== 'opening') throw new DiscoveryClosedError();
    this.watchConnection(nc);
    this.streamCheck = setInterval(() => void this.checkStream('periodic check'), this.streamCheckInterval);
    this.streamCheck.unref?.();
    this.state = 'open';
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    this.ready();
    let revision: number;
    try {
      revision = await this.bounded(`put of "${key}"`, () =>
        this.withBucket((kv) => {
          if (options.expectedRevision === null) return kv.create(key, value);
          if (typeof options.expectedRevision === 'number')
            return kv.put(key, value, { previousSeq: options.expectedRevision });
          return kv.put(key, value);
        }),
      );
    } catch (error) {
      if (isWriteConflict(error)) return { ok: false };
      throw this.failure(error, `put of "${key}"`);
    }
    if (!options.refreshOnly) this.remember(key, value);
    return { ok: true, revision };
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    this.ready();
    try {
      return await this.bounded(`delete of "${key}"`, () =>
        this.withBucket((kv) => this.deleteFrom(kv, key, condition.expectedRevision)),
      );
    } catch (error) {
      if (isWriteConflict(error)) return false;
      throw this.failure(error, `delete of "${key}"`);
    }
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    this.ready();
    try {
      return await this.bounded(`get of "${key}"`, () => this.withBucket(() => this.readLatest(key)));
    } catch (error) {
      throw this.failure(error, `get of "${key}"`);
    }
  }

  async list(): Promise<BackendSnapshot> {
    this.ready();
    try {
      return await this.bounded(`list of bucket "${this.layout.records}"`, () =>
        this.withBucket(() => this.snapshot()),
      );
    } catch (error) {
      throw this.failure(error, `list of bucket "${this.layout.records}"`);
    }
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const js = this.js;
    if (this.state !== 'open' || !js) throw new DiscoveryClosedError('the NATS backend is not open');
    const from = Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0)
      throw new InvalidOptionsError(`a NATS cursor is a stream sequence, got ${JSON.stringify(cursor)}`);
    const feed = new KvChangeFeed(
      js,
      this.layout,
      from,
      onChange,
      this.logger,
      (ended) => this.feeds.delete(ended),
      (what) => void this.checkStream(what),
    );
    this.feeds.add(feed);
    return feed;
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    assertValidKey(key);
    this.ready();
    const historyKv = this.historyKv;
    try {
      return await this.bounded(`history of "${key}"`, async () => {
        await Promise.all(this.historyWrites);
        await this.connected();
        const values: Uint8Array[] = [];
        const current = await this.readLatest(key);
        if (current) values.push(current.value);
        if (historyKv) {
          const earlier: Uint8Array[] = [];
          const iterator = await historyKv.history({ key });
          for await (const entry of iterator) if (entry.operation === 'PUT') earlier.push(entry.value);
          earlier.reverse();
          // The last full write is both the record and the newest history state: list it once.
          // After plain heartbeats the two differ in lastSeen, and core folds them.
          if (current && earlier[0] && sameBytes(earlier[0], current.value)) earlier.shift();
          values.push(...earlier);
        }
        return values.slice(0, limit);
      });
    } catch (error) {
      throw this.failure(error, `history of "${key}"`);
    }
  }

  /**
   * Always finishes quickly, also against a frozen server (rule 14 of docs/guarantees.md): core's
   * close() unregisters first and must still settle within the request timeout. Feeds unsubscribe
   * at once (their ephemeral consumers are deleted in the background, or reaped by the server);
   * history writes still in flight get a short grace, as history is best effort; then our own
   * connection is closed, which drops its socket.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.streamCheck);
    this.statusIterator?.stop?.();
    this.outage?.resolve();
    const polite = Promise.all([
      ...[...this.feeds].map((feed) => feed.stop()),
      Promise.all(this.historyWrites),
    ]).then(() => {});
    const grace = Math.min(CLOSE_GRACE, this.requestTimeout / 4);
    await withDeadline(polite, grace, () => new Error('close: server too slow')).catch(() => {});
    await withDeadline(this.releaseConnection(), this.requestTimeout / 2, () => new Error('close')).catch(
      () => {},
    );
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * A request published while the connection is down is lost and only fails at its timeout, even
   * when the client is back long before: wait for the reconnect (within the request timeout) and
   * send it then.
   */
  private async connected(): Promise<void> {
    const outage = this.outage;
    if (!outage) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.requestTimeout);
    });
    const result = await Promise.race([outage.promise, timeout]);
    clearTimeout(timer);
    if (result === 'timeout')
      throw new BackendUnavailableError(
        `NATS at ${this.server} is unreachable (reconnecting for over ${this.requestTimeout} ms)`,
      );
    this.ready();
  }

  /**
   * Retries a step of `open()` while a JetStream cluster elects a leader (right after a restart or
   * a failover), with a short capped backoff; the open deadline ends it.
   */
  private async untilAvailable<T>(step: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (!isTemporarilyUnavailable(error) || this.state !== 'opening') throw error;
        this.logger.info(`JetStream at ${this.server} is temporarily unavailable; retrying`, { attempt });
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 1_000)));
      }
    }
  }

  /** Runs a call that waits on the server within the request timeout (rule 14). */
  private bounded<T>(what: string, work: () => Promise<T>): Promise<T> {
    return withDeadline(
      work(),
      this.requestTimeout,
      () =>
        new BackendUnavailableError(
          `NATS ${what} got no answer from ${this.server} within ${this.requestTimeout} ms (requestTimeout)`,
        ),
    );
  }

  private ready(): KV {
    if (this.state !== 'open' || !this.records)
      throw new DiscoveryClosedError('the NATS backend is not open');
    return this.records;
  }

  private async openBuckets(): Promise<void> {
    const kvm = this.kvm;
    const jsm = this.jsm;
    if (!kvm || !jsm) throw new DiscoveryClosedError('the NATS backend is not open');
    try {
      const records = await openRecordsBucket(
        kvm,
        this.layout.records,
        {
          ttl: this.ttl,
          storage: this.storage,
          history: this.historyLimit,
          replicas: this.replicas,
          markerTTL: this.markerTTL,
        },
        this.requestTimeout,
      );
      this.records = records.kv;
      this.streamCreated = records.status.streamInfo.created;
      this.reader =
        (records.status.streamInfo.config.num_replicas ?? 1) > 1
          ? await kvm.open(this.layout.records, { allow_direct: false })
          : records.kv;
      this.historyKv = await openHistoryBucket(
        kvm,
        this.layout.history,
        {
          depth: this.historyDepth,
          maxAge: Math.max(this.historyMaxAge, this.ttl),
          storage: this.storage,
          replicas: this.replicas,
        },
        this.requestTimeout,
      );
      const markers = hasNativeExpiryEvents(this.markerTTL, records.status.markerTTL);
      if (this.markerTTL > 0 && !markers)
        this.logger.info(
          `NATS KV bucket "${this.layout.records}" was created without limit markers; expiry is detected client-side`,
        );
      this.capabilities = { persistent: this.storage === 'file', history: true, nativeExpiryEvents: markers };
    } catch (error) {
      throw this.failure(error, `setting up bucket "${this.layout.records}"`);
    }
  }

  private async deleteFrom(kv: KV, key: string, expected: number | null | undefined): Promise<boolean> {
    if (expected === null) return false;
    if (typeof expected === 'number') {
      if (expected < 1) return false;
      await kv.delete(key, { previousSeq: expected });
      return true;
    }
    // A KV delete always writes a marker, even for an absent key: delete only what exists,
    // conditionally on the revision just read, so that "nothing was deleted" is reported as such.
    for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
      const current = await this.readLatest(key);
      if (!current) return false;
      try {
        await kv.delete(key, { previousSeq: current.revision });
        return true;
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
      }
    }
    // Still racing writers after several rounds: an unconditional delete settles it.
    await kv.delete(key);
    return true;
  }

  /**
   * Runs a bucket operation; when the stream turns out to be gone (deleted beneath us), sets the
   * buckets up again — once, however many operations noticed — and retries.
   */
  private async withBucket<T>(operation: (kv: KV) => Promise<T>): Promise<T> {
    if (this.outage) await this.connected();
    try {
      return await operation(this.ready());
    } catch (error) {
      if (!isStreamNotFound(error) || !(await this.streamIsGone())) throw error;
    }
    this.recreating ??= (async () => {
      this.logger.warn(`NATS KV bucket "${this.layout.records}" is gone; creating it again`);
      await this.openBuckets();
      this.resyncAll(`NATS KV bucket "${this.layout.records}" was deleted and created again`);
    })().finally(() => {
      this.recreating = undefined;
    });
    await this.recreating;
    return operation(this.ready());
  }

  /**
   * Whether the records stream is really gone. A publish that finds no responder also happens in
   * a cluster while the stream elects a new leader: only the JetStream API saying "stream not
   * found" makes us create the bucket again (and feeds re-list), never a transient failure.
   */
  private async streamIsGone(): Promise<boolean> {
    const jsm = this.jsm;
    if (!jsm) return false;
    try {
      await jsm.streams.info(this.layout.stream);
      return false;
    } catch (error) {
      return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
    }
  }

  private async snapshot(): Promise<BackendSnapshot> {
    const js = this.js;
    const jsm = this.jsm;
    if (!js || !jsm) throw new DiscoveryClosedError('the NATS backend is not open');
    return readSnapshot(js, jsm, this.layout, this.logger, this.requestTimeout);
  }

  /** The key as the server holds it now (see `reader`): what core confirms an expiry with. */
  private readLatest(key: string): Promise<BackendEntry | undefined> {
    return this.read(this.reader ?? this.ready(), key);
  }

  private async read(kv: KV, key: string): Promise<BackendEntry | undefined> {
    const entry = await kv.get(key);
    if (entry?.operation !== 'PUT') return undefined;
    return { key, value: entry.value, revision: entry.revision };
  }

  /**
   * Keeps a state that changed more than `lastSeen` in the history bucket, off the write path:
   * a registration costs one round trip, not two. Publishes on one connection reach the stream in
   * order, so the history keeps the order of the writes; `history()` and `close()` wait for the
   * ones still in flight. Best effort: a failure is logged, the record itself is stored.
   */
  private remember(key: string, value: Uint8Array): void {
    const historyKv = this.historyKv;
    if (!historyKv) return;
    const write: Promise<void> = historyKv.put(key, value).then(
      () => {},
      (error: unknown) =>
        this.logger.warn(`could not record "${key}" in NATS KV bucket "${this.layout.history}"`, {
          key,
          error,
        }),
    );
    this.historyWrites.add(write);
    void write.finally(() => this.historyWrites.delete(write));
  }

  /** Every feed loses continuity when the connection drops: on reconnect they ask core to re-list. */
  private watchConnection(nc: NatsConnection): void {
    const iterator = nc.status() as AsyncIterable<Status> & { stop?: () => void };
    this.statusIterator = iterator;
    void (async () => {
      for await (const status of iterator) {
        if (this.state === 'closed') return;
        switch (status.type) {
          case 'disconnect':
            this.logger.warn(`disconnected from NATS at ${status.server}; reconnecting`, {
              server: status.server,
            });
            if (!this.outage) {
              let resolve!: () => void;
              const promise = new Promise<void>((done) => {
                resolve = done;
              });
              this.outage = { promise, resolve };
            }
            break;
          case 'reconnect':
            this.logger.info(`reconnected to NATS at ${status.server}`, { server: status.server });
            this.outage?.resolve();
            this.outage = undefined;
            this.resyncAll(`reconnected to NATS at ${status.server}`);
            break;
          case 'error':
            this.logger.warn('NATS connection error', { error: status.error });
            break;
          default:
            break;
        }
      }
    })().catch(() => {});
  }

  /**
   * Compares the stream with the one the feeds started on: deleted, recreated (a new creation
   * time) or moved backwards (sequences restarted) means the feeds' cursors are meaningless.
   */
  private async checkStream(trigger: string): Promise<void> {
    const jsm = this.jsm;
    if (this.state !== 'open' || !jsm || this.feeds.size === 0 || this.checking) return;
    this.checking = true;
    try {
      // Read what the feeds delivered before asking: a feed that moves on while the answer is on
      // its way must not look like a stream that went backwards.
      const delivered = Math.max(0, ...[...this.feeds].map((feed) => feed.delivered));
      const info = await jsm.streams.info(this.layout.stream);
      if (this.state !== 'open') return;
      if (info.created !== this.streamCreated) {
        this.streamCreated = info.created;
        this.resyncAll(`the stream of NATS KV bucket "${this.layout.records}" was recreated`);
      } else if (info.state.last_seq < delivered) {
        this.resyncAll(
          `the stream of NATS KV bucket "${this.layout.records}" went back to sequence ${info.state.last_seq}`,
        );
      } else {
        this.findStalledFeeds(info.state.last_seq);
      }
    } catch (error) {
      if (isStreamNotFound(error)) this.resyncAll(`NATS KV bucket "${this.layout.records}" was deleted`);
      else
        this.logger.debug(`could not check the stream of "${this.layout.records}" (${trigger})`, { error });
    } finally {
      this.checking = false;
    }
  }

  /**
   * A feed whose consumer died without a word (its stream leader killed in a cluster: the ordered
   * consumer lived there) delivers nothing more, and nats.js notices only after two missed idle
   * heartbeats of 30 s. Every subject of the stream is in a feed's filter, so a feed that has not
   * reached, by this check, the last sequence the previous check saw is stuck: it re-lists.
   */
  private findStalledFeeds(lastSeq: number): void {
    for (const feed of [...this.feeds]) {
      const awaited = feed.awaiting;
      if (awaited !== undefined && feed.delivered < awaited) {
        feed.resync(
          `the NATS change feed of "${this.layout.records}" stalled at sequence ${feed.delivered} (the stream is at ${lastSeq})`,
        );
        continue;
      }
      feed.awaiting = lastSeq > feed.delivered ? lastSeq : undefined;
    }
  }

  private resyncAll(reason: string): void {
    for (const feed of [...this.feeds]) feed.resync(reason);
  }

  private failure(error: unknown, what: string): Error {
    if (this.state === 'closed') return new DiscoveryClosedError('the NATS backend was closed');
    return toBackendError(error, what, this.server);
  }

  private async releaseConnection(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    if (nc && this.ownsConnection && !nc.isClosed()) await nc.close().catch(() => {});
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
