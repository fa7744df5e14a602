// The NATS JetStream KV backend: the SPI methods, open and close, on the buckets of one namespace.
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
import { KvChangeFeed } from './kv-change-feed.js';
import { deleteKey } from './kv-delete.js';
import { readSnapshot } from './kv-snapshot.js';
import { inspectRecordsBucket } from './namespace-inspect.js';
import { type NatsBackendOptions, type NatsSettings, resolveNatsSettings } from './nats-backend-options.js';
import { DEFAULT_CONNECT_TIMEOUT } from './nats-connection.js';
import { conflictAs, request } from './nats-request.js';
import { NatsSession } from './nats-session.js';
import { HistoryWrites, readHistory } from './node-history.js';

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
  /** What the backend supports before its buckets are open (they may add native expiry events). */
  private readonly declared: BackendCapabilities;
  private readonly settings: NatsSettings;
  /** The connection, handles and buckets; set by `open()`. */
  private session: NatsSession | undefined;
  private logger: Logger = silentLogger;
  private readonly historyWrites: HistoryWrites;
  private readonly lifecycle = new BackendLifecycle('NATS');

  constructor(private readonly options: NatsBackendOptions) {
    this.settings = resolveNatsSettings(options);
    this.historyWrites = new HistoryWrites(this.settings.layout.history, () => this.logger);
    this.declared = {
      persistent: this.settings.storage === 'file',
      history: true,
      nativeExpiryEvents: false,
    };
  }

  get supports(): BackendCapabilities {
    return this.session?.capabilities ?? this.declared;
  }

  async open(context: BackendOpenContext): Promise<void> {
    this.lifecycle.beginOpen();
    this.logger = context.logger;
    const session = new NatsSession(this.options, this.settings, context.ttl, context.logger, this.lifecycle);
    this.session = session;
    const limit = Math.max(this.options.timeout ?? DEFAULT_CONNECT_TIMEOUT, this.settings.requestTimeout);
    try {
      await withDeadline(
        session.setUp().then(() => this.lifecycle.opened()),
        limit,
        () =>
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

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const expected = options.expectedRevision;
    const result = await this.request(`writing "${key}"`, (session) =>
      session.withBucket((kv) =>
        conflictAs({ ok: false } as PutResult, async () => {
          if (expected === null) return { ok: true, revision: await kv.create(key, value) };
          if (typeof expected === 'number')
            return { ok: true, revision: await kv.put(key, value, { previousSeq: expected }) };
          return { ok: true, revision: await kv.put(key, value) };
        }),
      ),
    );
    if (result.ok && !options.refreshOnly)
      this.historyWrites.remember(this.session?.historyBucket(), key, value);
    return result;
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    return this.request(`deleting "${key}"`, (session) =>
      session.withBucket((kv) =>
        conflictAs(false, () => deleteKey(kv, key, condition.expectedRevision, (k) => session.readLatest(k))),
      ),
    );
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    return this.request(
      `reading "${key}"`,
      (session) => session.withBucket(() => session.readLatest(key)),
      'reads',
    );
  }

  async list(): Promise<BackendSnapshot> {
    const { layout, requestTimeout } = this.settings;
    return this.request(
      `listing bucket "${layout.records}"`,
      (session) =>
        session.withBucket(() =>
          readSnapshot(session.consumers!, session.manager(), layout, this.logger, requestTimeout),
        ),
      'reads',
    );
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const consumers = this.session?.consumers;
    const watchdog = this.session?.watchdog;
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
    return this.request(`reading the history of "${key}"`, async (session) => {
      await this.historyWrites.settled();
      await session.connected();
      const current = await session.readLatest(key);
      return readHistory(await session.historyBucket(), key, current?.value, limit);
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
    const session = this.session;
    session?.stopWatching();
    const polite = Promise.all([
      ...[...(session?.watchdog?.feeds ?? [])].map((feed) => feed.stop()),
      this.historyWrites.settled(),
    ]).then(() => {});
    const grace = Math.min(CLOSE_GRACE, requestTimeout / 4);
    await withDeadline(polite, grace, () => new Error('close: server too slow')).catch(() => {});
    if (!session) return;
    await withDeadline(session.releaseConnection(), requestTimeout / 2, () => new Error('close')).catch(
      () => {},
    );
  }

  /** One call that waits on the server, on the open session (see `request` in nats-request.ts). */
  private async request<T>(
    what: string,
    work: (session: NatsSession) => Promise<T>,
    retry?: 'reads',
  ): Promise<T> {
    this.lifecycle.assertOpen();
    const session = this.session;
    if (!session) throw new DiscoveryClosedError('the NATS backend is not open');
    session.ready();
    const context = {
      settings: this.settings,
      logger: this.logger,
      closed: () => this.lifecycle.isClosed,
      failure: (error: unknown, doing: string) => session.failure(error, doing),
    };
    return request(context, what, () => work(session), retry);
  }
}
