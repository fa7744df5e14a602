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
import { Redis, type RedisOptions } from 'ioredis';
import { ExpirySweep } from './expiry-sweep.js';
import { type KeyLayout, keyLayout, LAYOUT_VERSION } from './key-layout.js';
import { defineRosterCommands, type RosterCommands } from './lua-scripts.js';
import { bytes, unframe } from './record-frame.js';
import { toDiscoveryError } from './redis-errors.js';
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
   * A client you created and keep owning: the backend never closes it. The backend adds its
   * Lua scripts to it (`defineCommand`) and duplicates it for the blocking stream reads.
   * Not combinable with `url` or other connection options.
   */
  client?: Redis;
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
  /** Ms between expiry sweeps. Default min(250, ttl / 10). */
  sweepInterval?: number;
}

const DEFAULT_STREAM_MAX_LENGTH = 10_000;
const DEFAULT_HISTORY_DEPTH = 10;
const DEFAULT_HISTORY_RETENTION = 24 * 60 * 60 * 1000;
const DEFAULT_CONNECT_TIMEOUT = 5_000;
const SWEEP_BATCH = 1_000;
const MAX_SWEEP_BATCHES = 20;
const BLOCK_MS = 2_000;
const STALL_GRACE_MS = 3_000;

/**
 * The Redis backend: records in a hash, deadlines (server clock) in a sorted set, every change
 * in a capped stream, all written by Lua scripts so that each change is atomic and numbered.
 * Expiry is swept by every instance and written to the stream, so all watchers see the same
 * `left expired` (`supports.nativeExpiryEvents`). Keyspace notifications are not used.
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
  readonly sweepInterval: number | undefined;
}

function wholeNumber(name: string, value: number | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min)
    throw new InvalidOptionsError(`${name} must be a whole number >= ${min}, got ${String(value)}`);
  return value;
}

class RedisBackend implements DiscoveryBackend {
  readonly name = 'redis';
  readonly supports: BackendCapabilities;
  private readonly namespace: string;
  private readonly keys: KeyLayout;
  private readonly baseKeys: string[];
  private readonly settings: Settings;
  private readonly userClient: Redis | undefined;
  private readonly connection: { url: string | undefined; options: RedisOptions };
  private client: (Redis & RosterCommands) | undefined;
  private ownsClient = false;
  private ttl = 0;
  private logger: Logger = silentLogger;
  private sweep: ExpirySweep | undefined;
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
      sweepInterval,
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
    if (client !== undefined && !(client instanceof Redis))
      throw new InvalidOptionsError(
        'client must be an ioredis Redis instance (Cluster clients are not supported yet)',
      );
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url)))
      throw new InvalidOptionsError(`url must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
    this.namespace = namespace;
    this.keys = keyLayout(namespace);
    const k = this.keys;
    this.baseKeys = [k.records, k.deadlines, k.changes, k.seq, k.config];
    this.settings = {
      streamMaxLength: wholeNumber('streamMaxLength', streamMaxLength, 10, DEFAULT_STREAM_MAX_LENGTH),
      historyDepth: wholeNumber('historyDepth', historyDepth, 1, DEFAULT_HISTORY_DEPTH),
      historyRetention: wholeNumber('historyRetention', historyRetention, 1, DEFAULT_HISTORY_RETENTION),
      sweepInterval:
        sweepInterval === undefined ? undefined : wholeNumber('sweepInterval', sweepInterval, 10, 0),
    };
    this.userClient = client;
    this.connection = { url, options: redisOptions };
    this.supports = { persistent: persistent ?? true, history: true, nativeExpiryEvents: true };
  }

  async open(context: BackendOpenContext): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError('the redis backend is closed');
    if (this.client)
      throw new InvalidOptionsError('the redis backend is already open; create one backend per discovery');
    this.ttl = context.ttl;
    this.logger = context.logger;
    const client = this.userClient ?? this.createClient();
    this.ownsClient = this.userClient === undefined;
    try {
      await this.connect(client);
      const commands = defineRosterCommands(client);
      const info = parseServerInfo(await client.info('server'));
      if (!versionAtLeast(info.version, MIN_REDIS_VERSION))
        throw new BackendUnavailableError(
          `Redis ${info.version} is too old for @roster/redis, which needs Redis >= ${MIN_REDIS_VERSION} (streams, scripts replicated by effect)`,
        );
      const [storedTtl, layout] = await commands.rosterOpenV1(...this.baseKeys, String(this.ttl));
      if (layout !== LAYOUT_VERSION)
        throw new ConfigMismatchError(
          `redis namespace "${this.namespace}" uses key layout ${JSON.stringify(layout)}; this version of @roster/redis reads layout ${LAYOUT_VERSION}`,
        );
      if (storedTtl !== String(this.ttl))
        throw new ConfigMismatchError(
          `redis namespace "${this.namespace}" exists with ttl ${storedTtl} ms; this instance asked for ${this.ttl} ms`,
        );
      await this.reportDurability(client);
      // close() ran while we were connecting: it found no client to close, so this one is ours to drop.
      if (this.closed) throw new DiscoveryClosedError('the redis backend was closed while opening');
      this.client = commands;
      const period = this.settings.sweepInterval ?? Math.max(10, Math.min(250, Math.floor(this.ttl / 10)));
      this.sweep = new ExpirySweep(
        period,
        () => this.sweepExpired(),
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
    } catch (error) {
      if (this.ownsClient) client.disconnect();
      throw toDiscoveryError(error, 'opening the namespace', this.namespace, this.ttl);
    }
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const client = await this.connected();
    const expected = options.expectedRevision;
    try {
      const reply = await client.rosterPutV1(
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
      );
      return reply[0] === 1 ? { ok: true, revision: Number(reply[1]) } : { ok: false };
    } catch (error) {
      throw toDiscoveryError(error, `writing "${key}"`, this.namespace, this.ttl);
    }
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    const client = await this.connected();
    const expected = condition.expectedRevision;
    try {
      const deleted = await client.rosterDeleteV1(
        ...this.baseKeys,
        key,
        typeof expected === 'number' ? String(expected) : '',
        this.settings.streamMaxLength,
        'unregistered',
      );
      return deleted === 1;
    } catch (error) {
      throw toDiscoveryError(error, `deleting "${key}"`, this.namespace, this.ttl);
    }
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    const client = await this.connected();
    try {
      const reply = await client.rosterGetV1Buffer(...this.baseKeys, key, this.settings.streamMaxLength);
      return reply ? { key, ...unframe(reply) } : undefined;
    } catch (error) {
      throw toDiscoveryError(error, `reading "${key}"`, this.namespace, this.ttl);
    }
  }

  async list(): Promise<BackendSnapshot> {
    const client = await this.connected();
    let reply: Awaited<ReturnType<RosterCommands['rosterListV1Buffer']>>;
    try {
      reply = await client.rosterListV1Buffer(...this.baseKeys, this.settings.streamMaxLength);
    } catch (error) {
      throw toDiscoveryError(error, 'listing the namespace', this.namespace, this.ttl);
    }
    const [lastId, seq, records] = reply;
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
        connect: () =>
          client.duplicate({
            lazyConnect: true,
            enableOfflineQueue: true,
            enableReadyCheck: true,
            // One connection per watch: a drop ends the watch with resync instead of reconnecting.
            retryStrategy: () => null,
            maxRetriesPerRequest: 0,
            autoResendUnfulfilledCommands: false,
            enableAutoPipelining: false,
            commandTimeout: undefined,
            blockingTimeout: undefined,
            connectionName: `roster:${this.namespace}:watch`,
          }),
        stream: this.keys.changes,
        cursor: position,
        logger: this.logger,
        blockMs: BLOCK_MS,
        stallGraceMs: STALL_GRACE_MS,
        onStop: () => this.watches.delete(watch),
      },
      onChange,
    );
    this.watches.add(watch);
    return watch;
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    assertValidKey(key);
    const client = await this.connected();
    try {
      const values = await client.rosterHistoryV1Buffer(
        this.keys.records,
        this.keys.history(key),
        key,
        Math.max(1, limit),
      );
      return values.map(bytes);
    } catch (error) {
      throw toDiscoveryError(error, `reading the history of "${key}"`, this.namespace, this.ttl);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweep?.stop();
    await Promise.all([...this.watches].map((watch) => watch.stop()));
    const client = this.client;
    this.client = undefined;
    if (client && this.ownsClient) await client.quit().catch(() => client.disconnect());
  }

  // ---- internals ----------------------------------------------------------------------------

  private ready(): Redis & RosterCommands {
    if (this.closed) throw new DiscoveryClosedError('the redis backend is closed');
    if (!this.client) throw new DiscoveryClosedError('the redis backend is not open; call open() first');
    return this.client;
  }

  /**
   * The client once it is connected. A short reconnect (a server restart, a network blip) is
   * waited out for up to the connect timeout; a longer outage fails fast with
   * BackendUnavailableError instead of piling commands up in an offline queue.
   */
  private async connected(): Promise<Redis & RosterCommands> {
    const client = this.ready();
    if (client.status === 'ready') return client;
    const timeoutMs = client.options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
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

  private createClient(): Redis {
    const { url, options } = this.connection;
    const settings: RedisOptions = {
      // Fail fast instead of queueing writes for a server that may be gone for long: core retries.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: DEFAULT_CONNECT_TIMEOUT,
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

  /** Connects (or waits for) the client within the connect timeout; the last socket error explains a failure. */
  private async connect(client: Redis): Promise<void> {
    if (client.status === 'ready') return;
    const timeoutMs = (client.options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT) + 500;
    let lastError: Error | undefined;
    const onError = (error: Error) => {
      lastError = error;
    };
    client.on('error', onError);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no connection within ${timeoutMs} ms${lastError ? ` (${lastError.message})` : ''}`),
            ),
          timeoutMs,
        );
        const done = (error?: Error) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          client.off('end', onEnd);
          if (error) reject(error);
          else resolve();
        };
        const onReady = () => done();
        const onEnd = () => done(new Error('the connection was closed'));
        client.once('ready', onReady);
        client.once('end', onEnd);
        if (client.status === 'wait') client.connect().catch((error: Error) => done(lastError ?? error));
      });
    } catch (error) {
      const where = this.describeServer(client);
      const reason = error instanceof Error ? error.message : String(error);
      if (lastError && /^(WRONGPASS|NOAUTH)/.test(lastError.message))
        throw new BackendUnavailableError(
          `Redis at ${where} refused the credentials: ${lastError.message} (check username/password)`,
          { cause: lastError },
        );
      throw new BackendUnavailableError(`cannot reach Redis at ${where}: ${reason}`, {
        cause: lastError ?? error,
      });
    } finally {
      client.off('error', onError);
    }
  }

  private describeServer(client: Redis): string {
    const { host, port, path, sentinels, name } = client.options;
    if (sentinels?.length) return `sentinel master "${name ?? '?'}"`;
    return path ?? `${host ?? '127.0.0.1'}:${port ?? 6379}`;
  }

  /** Tells the operator when a restart would lose every record; CONFIG may be denied to us, which is fine. */
  private async reportDurability(client: Redis): Promise<void> {
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

  private async sweepExpired(): Promise<number> {
    const client = this.client;
    if (!client) return 0;
    let total = 0;
    for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
      const expired = await client.rosterSweepV1(
        ...this.baseKeys,
        SWEEP_BATCH,
        this.settings.streamMaxLength,
      );
      total += expired;
      if (expired < SWEEP_BATCH) break;
    }
    return total;
  }
}
