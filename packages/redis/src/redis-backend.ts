import { randomUUID } from 'node:crypto';
import {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  BackendAuthError,
  type BackendCapabilities,
  type BackendChange,
  type BackendEntry,
  type BackendFactoryOptions,
  type BackendOpenContext,
  type BackendSnapshot,
  BackendUnavailableError,
  type BackendWatch,
  ConfigMismatchError,
  type DiscoveryBackend,
  DiscoveryClosedError,
  InvalidOptionsError,
  type Logger,
  type PutOptions,
  type PutResult,
  silentLogger,
  type WriteCondition,
} from '@roster/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ExpirySweep, type Lease, type SweepStore, sweepTiming } from './expiry-sweep.js';
import { type KeyLayout, keyLayout, LAYOUT_VERSION, LIVENESS_GROUP } from './key-layout.js';
import { keyHash, livenessEntry } from './liveness-id.js';
import { defineRosterCommands, type RosterCommands } from './lua-scripts.js';
import { bytes, unframe } from './record-frame.js';
import { isAuthFailure, toDiscoveryError } from './redis-errors.js';
import { RequestClock, withDeadline } from './request-deadline.js';
import { MIN_REDIS_VERSION, parseServerInfo, versionAtLeast } from './server-info.js';
import { decodeCursor, encodeCursor } from './stream-cursor.js';
import { StreamWatch } from './stream-watch.js';

/**
 * Options of {@link redisBackend}: where the server is (`url`, or any ioredis connection option
 * such as `host`, `port`, `username`, `password`, `tls`, `sentinels`, `name`), or a `client` you
 * own, plus the namespace and a few storage settings.
 */
export interface RedisBackendOptions extends BackendFactoryOptions, RedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url?: string;
  /**
   * A client you created and keep owning: the backend never closes it. An ioredis `Redis`
   * (also one made with Sentinel options) or a `Cluster`: every key of a namespace shares one
   * hash tag, so each script and command touches one slot. The backend adds its Lua scripts to
   * it (`defineCommand`) and duplicates it for the blocking stream reads.
   * Not combinable with `url` or other connection options.
   */
  client?: Redis | Cluster;
  /**
   * Ms within which every call that waits on the server (open, put, delete, get, list,
   * history, close) settles, also when the server is frozen or unreachable behind an open
   * socket: it then rejects with `BackendUnavailableError`. Default 5 000, minimum 100.
   */
  requestTimeout?: number;
  /**
   * Declared `supports.persistent`. Default `true`: records live in the server, not in a
   * connection, so a new process lists nodes registered earlier. Surviving a server restart
   * is up to the server's AOF/RDB settings (see the README).
   */
  persistent?: boolean;
  /** Approximate length of the change stream (`XADD MAXLEN ~`). Default 10 000, minimum 10. */
  streamMaxLength?: number;
  /** States kept per node for `history()`. Default 10. */
  historyDepth?: number;
  /** Ms a node's history outlives its last write. Default 24 h. */
  historyRetention?: number;
}

const DEFAULT_STREAM_MAX_LENGTH = 10_000;
const DEFAULT_HISTORY_DEPTH = 10;
const DEFAULT_HISTORY_RETENTION = 24 * 60 * 60 * 1000;
const DEFAULT_REQUEST_TIMEOUT = 5_000;
const SWEEP_BATCH = 1_000;
const MAX_SWEEP_BATCHES = 20;
/** An idle feed costs one XREAD per BLOCK_MS per instance; a dead socket is noticed within BLOCK_MS + STALL_GRACE_MS. */
const BLOCK_MS = 10_000;
const STALL_GRACE_MS = 3_000;
/** close() says goodbye (lease release, QUIT) for at most this long, then drops the connection. */
const CLOSE_BUDGET_MS = 1_000;
/** How long a disconnect waits for the server to close its side before destroying the socket. */
const DISCONNECT_TIMEOUT_MS = 200;

/**
 * The Redis backend: records in a hash, liveness in a stream's pending entries (idle time by
 * the server clock), every change in a capped stream, all written by Lua scripts so that each
 * change is atomic and numbered. A plain heartbeat is one `XCLAIM`: no record write, no change
 * entry, no watcher woken (`supports.silentHeartbeats`). One instance at a time sweeps expired
 * records into the stream, so all watchers see the same `left expired` (`supports.nativeExpiryEvents`).
 * Keyspace notifications are not used.
 *
 * @example
 * ```ts
 * import { createDiscovery } from '@roster/core';
 * import { redisBackend } from '@roster/redis';
 *
 * await using discovery = await createDiscovery({
 *   backend: redisBackend({ url: 'redis://127.0.0.1:6379', namespace: 'prod' }),
 *   ttl: 10_000,
 * });
 * await discovery.register({ id: 'api-1', address: '10.0.0.5:8080' });
 * ```
 */
export function redisBackend(options: RedisBackendOptions = {}): DiscoveryBackend {
  return new RedisBackend(options);
}

interface Settings {
  readonly streamMaxLength: number;
  readonly historyDepth: number;
  readonly historyRetention: number;
  readonly requestTimeout: number;
}

function wholeNumber(name: string, value: number | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min)
    throw new InvalidOptionsError(`${name} must be a whole number >= ${min}, got ${String(value)}`);
  return value;
}

/** What the backend talks to: a single server (direct or found through Sentinel) or a Cluster. */
type AnyClient = Redis | Cluster;
type Client = AnyClient & RosterCommands;

/** The connect timeout a client was made with (a Cluster keeps it in its per-node options). */
function connectTimeoutOf(client: AnyClient): number | undefined {
  return client instanceof Cluster
    ? client.options.redisOptions?.connectTimeout
    : client.options.connectTimeout;
}

class RedisBackend implements DiscoveryBackend {
  readonly name = 'redis';
  readonly supports: BackendCapabilities;
  private readonly namespace: string;
  private readonly keys: KeyLayout;
  private readonly baseKeys: string[];
  private readonly settings: Settings;
  private readonly userClient: AnyClient | undefined;
  private readonly connection: { url: string | undefined; options: RedisOptions };
  /** This instance's value in the sweeper and standby leases. */
  private readonly holder = randomUUID();
  private client: Client | undefined;
  private ownsClient = false;
  private ttl = 0;
  private logger: Logger = silentLogger;
  private sweep: ExpirySweep | undefined;
  private readonly clock: RequestClock;
  private readonly watches = new Set<StreamWatch>();
  private closed = false;

  constructor(options: RedisBackendOptions) {
    const {
      url,
      client,
      namespace = 'default',
      persistent,
      streamMaxLength,
      historyDepth,
      historyRetention,
      requestTimeout,
      ...redisOptions
    } = options;
    assertValidNamespace(namespace);
    if (client !== undefined && (url !== undefined || Object.keys(redisOptions).length > 0))
      throw new InvalidOptionsError(
        `give either a client or connection options (url, host, password …), not both; got a client and ${[
          ...(url !== undefined ? ['url'] : []),
          ...Object.keys(redisOptions),
        ].join(', ')}`,
      );
    if (client !== undefined && !(client instanceof Redis) && !(client instanceof Cluster))
      throw new InvalidOptionsError('client must be an ioredis Redis or Cluster instance');
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url)))
      throw new InvalidOptionsError(`url must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
    this.namespace = namespace;
    this.keys = keyLayout(namespace);
    const k = this.keys;
    this.baseKeys = [k.records, k.live, k.changes, k.seq, k.config];
    this.settings = {
      streamMaxLength: wholeNumber('streamMaxLength', streamMaxLength, 10, DEFAULT_STREAM_MAX_LENGTH),
      historyDepth: wholeNumber('historyDepth', historyDepth, 1, DEFAULT_HISTORY_DEPTH),
      historyRetention: wholeNumber('historyRetention', historyRetention, 1, DEFAULT_HISTORY_RETENTION),
      requestTimeout: wholeNumber('requestTimeout', requestTimeout, 100, DEFAULT_REQUEST_TIMEOUT),
    };
    this.userClient = client;
    this.connection = { url, options: redisOptions };
    this.clock = new RequestClock(this.settings.requestTimeout);
    this.supports = {
      persistent: persistent ?? true,
      history: true,
      nativeExpiryEvents: true,
      silentHeartbeats: true,
    };
  }

  async open(context: BackendOpenContext): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError('the redis backend is closed');
    if (this.client)
      throw new InvalidOptionsError('the redis backend is already open; create one backend per discovery');
    this.ttl = context.ttl;
    this.logger = context.logger;
    const client = this.userClient ?? this.createClient();
    this.ownsClient = this.userClient === undefined;
    let commands: Client;
    try {
      commands = await withDeadline(
        this.prepare(client),
        this.settings.requestTimeout,
        'opening the namespace',
      );
      // close() ran while we were connecting: it found no client to close, so this one is ours to drop.
      if (this.closed) throw new DiscoveryClosedError('the redis backend was closed while opening');
    } catch (error) {
      if (this.ownsClient) client.disconnect();
      throw toDiscoveryError(error, 'opening the namespace', this.namespace, this.ttl);
    }
    this.client = commands;
    this.sweep = new ExpirySweep(
      this.sweepStore(commands),
      this.holder,
      sweepTiming(this.ttl),
      (error, first) =>
        (first ? this.logger.warn : this.logger.debug).call(
          this.logger,
          'the expiry sweep failed; retrying',
          {
            error,
          },
        ),
    );
    this.sweep.start();
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const expected = options.expectedRevision;
    if (options.refreshOnly && typeof expected === 'number')
      return this.request(`refreshing "${key}"`, (client) => this.refresh(client, key, expected));
    return this.request(`writing "${key}"`, async (client) => {
      const reply = await client.rosterPutV2(
        ...this.baseKeys,
        this.keys.history(key),
        key,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        String(this.ttl),
        expected === undefined ? '' : expected === null ? 'absent' : String(expected),
        options.refreshOnly ? '1' : '0',
        this.settings.streamMaxLength,
        this.settings.historyDepth,
        this.settings.historyRetention,
        keyHash(key),
      );
      return reply[0] === 1 ? { ok: true, revision: Number(reply[1]) } : { ok: false };
    });
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    const expected = condition.expectedRevision;
    return this.request(`deleting "${key}"`, async (client) => {
      const deleted = await client.rosterDeleteV2(
        ...this.baseKeys,
        key,
        typeof expected === 'number' ? String(expected) : '',
        this.settings.streamMaxLength,
        'unregistered',
        String(this.ttl),
        keyHash(key),
      );
      return deleted === 1;
    });
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    return this.request(`reading "${key}"`, async (client) => {
      const reply = await client.rosterGetV2Buffer(
        ...this.baseKeys,
        key,
        this.settings.streamMaxLength,
        String(this.ttl),
        keyHash(key),
      );
      return reply ? { key, ...unframe(reply) } : undefined;
    });
  }

  async list(): Promise<BackendSnapshot> {
    const [lastId, seq, records] = await this.request('listing the namespace', (client) =>
      client.rosterListV2Buffer(...this.baseKeys, this.settings.streamMaxLength, String(this.ttl)),
    );
    const entries: BackendEntry[] = [];
    for (let i = 0; i + 1 < records.length; i += 2)
      entries.push({ key: records[i]!.toString(), ...unframe(records[i + 1]!) });
    return {
      entries,
      cursor: encodeCursor({ streamId: lastId.toString(), revision: Number(seq.toString()) }),
    };
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const client = this.ready();
    const position = decodeCursor(cursor);
    if (!position) {
      let stopped = false;
      queueMicrotask(() => {
        if (!stopped) onChange({ type: 'resync', reason: `not a redis cursor: ${JSON.stringify(cursor)}` });
      });
      return {
        stop: async () => {
          stopped = true;
        },
      };
    }
    const watch: StreamWatch = new StreamWatch(
      {
        connect: () => this.feedConnection(client),
        stream: this.keys.changes,
        cursor: position,
        logger: this.logger,
        blockMs: BLOCK_MS,
        stallGraceMs: STALL_GRACE_MS,
        connectTimeoutMs: this.settings.requestTimeout,
        onStop: () => this.watches.delete(watch),
      },
      onChange,
    );
    this.watches.add(watch);
    return watch;
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    assertValidKey(key);
    return this.request(`reading the history of "${key}"`, async (client) => {
      const values = await client.rosterHistoryV2Buffer(
        this.keys.records,
        this.keys.history(key),
        key,
        Math.max(1, limit),
      );
      return values.map(bytes);
    });
  }

  /**
   * Finishes within the close budget whatever the server does: a frozen server gets no
   * goodbye (the leases lapse on their own), and every timer, socket and retry loop is gone.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sweep = this.sweep;
    this.sweep = undefined;
    const client = this.client;
    this.client = undefined;
    // A silent server gets no goodbye: nothing it would be told is needed for correctness.
    const budget = Math.min(CLOSE_BUDGET_MS, this.clock.budget());
    const goodbye = async () => {
      await sweep?.stop();
      if (client && this.ownsClient) await client.quit();
    };
    await Promise.all([
      withDeadline(goodbye(), budget, 'closing').catch(() => {}),
      ...[...this.watches].map((watch) => watch.stop()),
    ]);
    if (client && this.ownsClient) client.disconnect();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** A connection of its own for one watch's blocking reads (XREAD BLOCK holds its connection). */
  private feedConnection(client: AnyClient): AnyClient {
    const perConnection = {
      enableReadyCheck: true,
      // One connection per watch: a drop ends the watch with resync instead of reconnecting.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: undefined,
      blockingTimeout: undefined,
      // A frozen server never answers the FIN: destroy the socket soon after stop().
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      connectionName: `roster:${this.namespace}:watch`,
    };
    if (client instanceof Cluster)
      return client.duplicate(undefined, {
        lazyConnect: true,
        enableOfflineQueue: true,
        enableAutoPipelining: false,
        clusterRetryStrategy: () => null,
        redisOptions: { ...client.options.redisOptions, ...perConnection },
      });
    return client.duplicate({
      ...perConnection,
      lazyConnect: true,
      enableOfflineQueue: true,
      enableAutoPipelining: false,
    });
  }

  private ready(): Client {
    if (this.closed) throw new DiscoveryClosedError('the redis backend is closed');
    if (!this.client) throw new DiscoveryClosedError('the redis backend is not open; call open() first');
    return this.client;
  }

  /** Runs one server call within the request timeout, its failure as a Roster error. */
  private async request<T>(what: string, run: (client: Client) => Promise<T>): Promise<T> {
    const client = this.ready();
    try {
      return await this.call(client, run, what);
    } catch (error) {
      if (this.closed && !(error instanceof DiscoveryClosedError))
        throw new DiscoveryClosedError('the redis backend was closed during the call');
      throw toDiscoveryError(error, what, this.namespace, this.ttl);
    }
  }

  /**
   * One call within the request timeout, waiting for a reconnect first if one is under way. Only
   * the command itself, once sent, counts towards the connection's silence (see RequestClock): a
   * call waiting for a reconnect is not evidence of a frozen server.
   */
  private call<T>(client: Client, run: (client: Client) => Promise<T>, what: string): Promise<T> {
    return withDeadline(
      this.connected(client).then((ready) => this.clock.run(() => run(ready), what)),
      this.settings.requestTimeout,
      what,
    );
  }

  /**
   * A plain heartbeat: one `XCLAIM … JUSTID` of the record's liveness entry resets its idle
   * time (server clock). It succeeds only while the entry is pending, that is while this key
   * is stored at exactly `expected` — the compare-and-set — and writes nothing else.
   */
  private async refresh(client: Client, key: string, expected: number): Promise<PutResult> {
    try {
      const claimed = (await client.xclaim(
        this.keys.live,
        LIVENESS_GROUP,
        LIVENESS_GROUP,
        0,
        livenessEntry(expected, key),
        'JUSTID',
      )) as unknown[];
      return claimed.length > 0 ? { ok: true, revision: expected } : { ok: false };
    } catch (error) {
      // The group is gone with the namespace (a restart without persistence): nothing to refresh.
      if (error instanceof Error && error.message.startsWith('NOGROUP')) return { ok: false };
      throw error;
    }
  }

  /**
   * The client once it is connected. A short reconnect (a server restart, a network blip) is
   * waited out (within the request timeout of the caller); a longer outage fails with
   * BackendUnavailableError instead of piling commands up in an offline queue.
   */
  private async connected(client: Client): Promise<Client> {
    if (client.status === 'ready') return client;
    const timeoutMs = Math.min(connectTimeoutOf(client) ?? Infinity, this.settings.requestTimeout);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      client.on('ready', done);
      client.on('end', done);
    });
    if (this.closed) throw new DiscoveryClosedError('the redis backend is closed');
    // The status changed while we waited (TypeScript still narrows it from the check above).
    if ((client.status as string) !== 'ready')
      throw new BackendUnavailableError(
        `Redis at ${this.describeServer(client)} is unreachable (connection ${client.status} for ${timeoutMs} ms)`,
      );
    return client;
  }

  /** Connects, checks the server and sets up (or verifies) the namespace. */
  private async prepare(client: AnyClient): Promise<Client> {
    await this.connect(client);
    const commands = defineRosterCommands(client);
    const info = parseServerInfo(await client.info('server'));
    if (!versionAtLeast(info.version, MIN_REDIS_VERSION))
      throw new BackendUnavailableError(
        `Redis ${info.version} is too old for @roster/redis, which needs Redis >= ${MIN_REDIS_VERSION} (XPENDING IDLE, scripts replicated by effect)`,
      );
    const [storedTtl, layout] = await commands.rosterOpenV2(...this.baseKeys, String(this.ttl));
    if (layout !== LAYOUT_VERSION)
      throw new ConfigMismatchError(
        `redis namespace "${this.namespace}" uses key layout ${JSON.stringify(layout)}; this version of @roster/redis reads layout ${LAYOUT_VERSION} (use another namespace, or remove the old keys {roster:${this.namespace}}:*)`,
      );
    if (storedTtl !== String(this.ttl))
      throw new ConfigMismatchError(
        `redis namespace "${this.namespace}" exists with ttl ${storedTtl} ms; this instance asked for ${this.ttl} ms`,
      );
    await this.reportDurability(client);
    return commands;
  }

  private createClient(): Redis {
    const { url, options } = this.connection;
    const settings: RedisOptions = {
      // Fail fast instead of queueing writes for a server that may be gone for long: core retries.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: this.settings.requestTimeout,
      // Commands issued in the same tick (many owned nodes' heartbeats) share one round trip.
      enableAutoPipelining: true,
      // close() on a frozen server: destroy the socket soon instead of waiting 2 s for its FIN.
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      connectionName: `roster:${this.namespace}`,
      ...options,
      lazyConnect: true,
    };
    const client = url === undefined ? new Redis(settings) : new Redis(url, settings);
    let down = false;
    client.on('error', (error: Error) => {
      if (!down) this.logger.warn(`redis connection error: ${error.message}`, { error });
      down = true;
    });
    client.on('ready', () => {
      if (down) this.logger.info('redis connection is back');
      down = false;
    });
    return client;
  }

  /**
   * Connects (or waits for) the client within its connect timeout (ioredis bounds only the TCP
   * handshake; a frozen server accepts the socket and never answers the ready check). The last
   * socket error explains a failure.
   */
  private async connect(client: AnyClient): Promise<void> {
    if (client.status === 'ready') return;
    const timeoutMs = connectTimeoutOf(client) ?? this.settings.requestTimeout;
    let lastError: Error | undefined;
    const onError = (error: Error) => {
      lastError = error;
    };
    client.on('error', onError);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            done(
              new Error(`no connection within ${timeoutMs} ms${lastError ? ` (${lastError.message})` : ''}`),
            ),
          timeoutMs,
        );
        const done = (error?: Error) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          client.off('end', onEnd);
          client.off('error', onAuthError);
          if (error) reject(error);
          else resolve();
        };
        const onReady = () => done();
        const onEnd = () => done(new Error('the connection was closed'));
        // A refused password does not end the connection (ioredis retries): fail at once.
        const onAuthError = (error: Error) => {
          if (isAuthFailure(error)) done(error);
        };
        client.once('ready', onReady);
        client.once('end', onEnd);
        client.on('error', onAuthError);
        if (client.status === 'wait') client.connect().catch((error: Error) => done(lastError ?? error));
      });
    } catch (error) {
      const where = this.describeServer(client);
      const reason = error instanceof Error ? error.message : String(error);
      const cause = lastError ?? error;
      if (isAuthFailure(cause))
        throw new BackendAuthError(
          `Redis at ${where} refused the credentials: ${cause instanceof Error ? cause.message : String(cause)} (check username/password)`,
          { cause },
        );
      throw new BackendUnavailableError(`cannot reach Redis at ${where}: ${reason}`, { cause });
    } finally {
      client.off('error', onError);
    }
  }

  private describeServer(client: AnyClient): string {
    if (client instanceof Cluster) {
      const seeds = client.nodes('all').map((node) => `${node.options.host}:${node.options.port}`);
      return `Redis Cluster ${seeds.join(',') || '(no node reached)'}`;
    }
    const { host, port, path, sentinels, name } = client.options;
    if (sentinels?.length) return `sentinel master "${name ?? '?'}"`;
    return path ?? `${host ?? '127.0.0.1'}:${port ?? 6379}`;
  }

  /** Tells the operator when a restart would lose every record; CONFIG may be denied to us, which is fine. */
  private async reportDurability(client: AnyClient): Promise<void> {
    try {
      const [, appendonly] = (await client.config('GET', 'appendonly')) as string[];
      const [, save] = (await client.config('GET', 'save')) as string[];
      if (appendonly !== 'yes' && !save)
        this.logger.warn(
          'the Redis server keeps no AOF or RDB snapshots: a restart loses every record (owners register their nodes again)',
          { namespace: this.namespace },
        );
    } catch (error) {
      this.logger.debug('could not read the Redis persistence settings (CONFIG GET denied?)', { error });
    }
  }

  /** The sweep's view of the server: leases, the due check and the sweep script, each within the request timeout. */
  private sweepStore(client: Client): SweepStore {
    const within = <T>(work: () => Promise<T>, what: string) => this.call(client, work, what);
    const key = (lease: Lease) => (lease === 'sweeper' ? this.keys.sweeper : this.keys.standby);
    return {
      acquire: (lease, ms) =>
        within(
          async () => (await client.set(key(lease), this.holder, 'PX', ms, 'NX')) === 'OK',
          `taking the ${lease} lease`,
        ),
      renew: (lease, ms) =>
        within(
          () => client.set(key(lease), this.holder, 'PX', ms, 'XX', 'GET') as Promise<string | null>,
          `renewing the ${lease} lease`,
        ),
      restore: (lease, holder, ms) =>
        within(async () => {
          await client.set(key(lease), holder, 'PX', ms);
        }, `restoring the ${lease} lease`),
      release: (lease) =>
        within(async () => {
          await client.rosterReleaseV2(key(lease), this.holder);
        }, `releasing the ${lease} lease`),
      anyDue: () =>
        within(async () => {
          try {
            const due = (await client.xpending(
              this.keys.live,
              LIVENESS_GROUP,
              'IDLE',
              // Whole ms: a fractional ttl rounds up, so a key never goes early.
              Math.ceil(this.ttl),
              '-',
              '+',
              1,
            )) as unknown[];
            return due.length > 0;
          } catch (error) {
            if (error instanceof Error && error.message.startsWith('NOGROUP')) return false;
            throw error;
          }
        }, 'looking for expired records'),
      sweep: () => within(() => this.sweepExpired(client), 'sweeping expired records'),
    };
  }

  private async sweepExpired(client: Client): Promise<void> {
    for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
      const due = await client.rosterSweepV2(
        ...this.baseKeys,
        String(this.ttl),
        SWEEP_BATCH,
        this.settings.streamMaxLength,
      );
      if (due < SWEEP_BATCH) break;
    }
  }
}
