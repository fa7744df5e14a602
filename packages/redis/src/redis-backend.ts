// The Redis backend: the SPI methods, open and close, each call bounded by the request timeout.
import { randomUUID } from 'node:crypto';
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
  type WriteCondition,
} from '@roster/core/spi';
import { Cluster } from 'ioredis';
import { ChangeFeeds } from './change-feed.js';
import type { ExpirySweep } from './expiry-sweep.js';
import { type KeyLayout, keyLayout } from './key-layout.js';
import { refreshLiveness } from './liveness-id.js';
import type { RosterCommands } from './lua-scripts.js';
import { MemberProbe } from './member-probe.js';
import { inspectConfig } from './namespace-inspect.js';
import { prepareNamespace } from './namespace-setup.js';
import {
  type RedisBackendOptions,
  type RedisSettings,
  resolveRedisSettings,
} from './redis-backend-options.js';
import {
  type AnyClient,
  connect,
  connected,
  createClient,
  warnWithoutFailoverDetector,
} from './redis-connection.js';
import { toBackendError } from './redis-errors.js';
import { RequestClock, withinTimeout } from './request-clock.js';
import {
  deleteRecord,
  getRecord,
  listRecords,
  putRecord,
  readHistory,
  type ScriptScope,
} from './script-calls.js';
import { decodeCursor } from './stream-cursor.js';
import { startSweep } from './sweep-store.js';

export type { RedisBackendOptions } from './redis-backend-options.js';

/** The client once the backend's Lua scripts are defined on it. */
type Client = AnyClient & RosterCommands;

/** close() says goodbye (lease release, QUIT) for at most this long, then drops the connection. */
const CLOSE_BUDGET_MS = 1_000;
/** A Cluster call unanswered this long has the masters probed (member-probe.ts); Redis answers in < 1 ms. */
const MEMBER_SILENT_AFTER_MS = 1_000;

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

class RedisBackend implements DiscoveryBackend {
  readonly name = 'redis';
  /** The namespace's name: core reports it in metrics (`roster.namespace`, docs/metrics.md). */
  get namespace(): string {
    return this.settings.namespace;
  }
  readonly supports: BackendCapabilities;
  private readonly keys: KeyLayout;
  private readonly baseKeys: string[];
  private readonly settings: RedisSettings;
  /** This instance's value in the sweeper and standby leases. */
  private readonly holder = randomUUID();
  private client: Client | undefined;
  private ownsClient = false;
  private ttl = 0;
  private logger: Logger = silentLogger;
  private sweep: ExpirySweep | undefined;
  /** Moves calls off a frozen Cluster member (member-probe.ts). */
  private probe: MemberProbe | undefined;
  private readonly clock: RequestClock;
  private readonly feeds: ChangeFeeds;
  private readonly lifecycle = new BackendLifecycle('redis');

  constructor(options: RedisBackendOptions) {
    this.settings = resolveRedisSettings(options);
    this.keys = keyLayout(this.settings.namespace);
    const k = this.keys;
    this.baseKeys = [k.records, k.live, k.changes, k.seq, k.config, k.clock];
    this.clock = new RequestClock(this.settings.requestTimeout);
    this.feeds = new ChangeFeeds({
      namespace: this.settings.namespace,
      stream: k.changes,
      connectTimeoutMs: this.settings.requestTimeout,
    });
    this.supports = {
      persistent: this.settings.persistent,
      history: true,
      nativeExpiryEvents: true,
      silentHeartbeats: true,
    };
  }

  async open(context: BackendOpenContext): Promise<void> {
    this.lifecycle.beginOpen();
    this.ttl = context.ttl;
    this.logger = context.logger;
    const client = this.settings.client ?? createClient(this.settings, this.logger);
    this.ownsClient = this.settings.client === undefined;
    if (!this.ownsClient) warnWithoutFailoverDetector(client, this.logger);
    let commands: Client;
    try {
      commands = await withinTimeout(
        prepareNamespace(client, {
          baseKeys: this.baseKeys,
          namespace: this.settings.namespace,
          ttl: this.ttl,
          requestTimeout: this.settings.requestTimeout,
          logger: this.logger,
        }),
        this.settings.requestTimeout,
        'opening the namespace',
      );
      // close() ran while we were connecting: it found no client to close, so this one is ours to drop.
      this.lifecycle.opened();
    } catch (error) {
      if (this.ownsClient) client.disconnect();
      // A failed open leaves a closed backend, as on every backend.
      this.lifecycle.beginClose();
      throw toBackendError(error, 'opening the namespace', this.settings.namespace, this.ttl);
    }
    this.client = commands;
    this.sweep = startSweep(
      commands,
      {
        keys: this.keys,
        baseKeys: this.baseKeys,
        holder: this.holder,
        ttl: this.ttl,
        streamMaxLength: this.settings.streamMaxLength,
        within: (work, what) => this.call(commands, () => work(), what),
      },
      this.logger,
    );
    if (commands instanceof Cluster)
      this.probe = new MemberProbe(commands, this.clock, {
        silentAfterMs: Math.min(MEMBER_SILENT_AFTER_MS, this.settings.requestTimeout / 2),
        pingTimeoutMs: Math.min(MEMBER_SILENT_AFTER_MS, this.settings.requestTimeout / 2),
        logger: this.logger,
      });
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const expected = options.expectedRevision;
    if (options.refreshOnly && typeof expected === 'number')
      return this.request(`refreshing "${key}"`, (client) =>
        refreshLiveness(client, this.keys.live, key, expected),
      );
    return this.request(`writing "${key}"`, (client) => putRecord(client, this.scope, key, value, options));
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    const expected = condition.expectedRevision;
    // "Only if absent": a present key fails the condition, an absent one has nothing to delete.
    if (expected === null) {
      this.ready();
      return false;
    }
    return this.request(`deleting "${key}"`, (client) =>
      deleteRecord(client, this.scope, key, typeof expected === 'number' ? expected : undefined),
    );
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    assertValidKey(key);
    return this.request(`reading "${key}"`, (client) => getRecord(client, this.scope, key));
  }

  async list(): Promise<BackendSnapshot> {
    return this.request('listing the namespace', (client) => listRecords(client, this.scope));
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const client = this.ready();
    const position = decodeCursor(cursor);
    if (!position)
      throw new InvalidOptionsError(`not a redis cursor (list() returns one): ${JSON.stringify(cursor)}`);
    return this.feeds.follow(client, position, this.logger, onChange);
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    assertValidKey(key);
    return this.request(`reading the history of "${key}"`, (client) =>
      readHistory(client, this.scope, key, limit),
    );
  }

  /** See `namespace-inspect.ts`: reads the config hash, writes nothing. */
  async inspect(): Promise<NamespaceInspection> {
    if (this.lifecycle.isClosed) throw new DiscoveryClosedError('the redis backend is closed');
    const client = this.settings.client ?? createClient(this.settings, this.logger);
    const { keys } = this;
    const { namespace } = this.settings;
    const { requestTimeout } = this.settings;
    const owned = this.settings.client === undefined;
    return inspectConfig({
      client,
      connect: () => connect(client, requestTimeout),
      owned,
      keys,
      namespace,
      requestTimeout,
    });
  }

  /**
   * Finishes within the close budget whatever the server does: a frozen server gets no
   * goodbye (the leases lapse on their own), and every timer, socket and retry loop is gone.
   */
  async close(): Promise<void> {
    if (!this.lifecycle.beginClose()) return;
    this.probe?.stop();
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
    await Promise.all([withinTimeout(goodbye(), budget, 'closing').catch(() => {}), this.feeds.stopAll()]);
    if (client && this.ownsClient) client.disconnect();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** What the script calls (script-calls.ts) pass besides the key; the ttl is open()'s. */
  private get scope(): ScriptScope {
    return { keys: this.keys, baseKeys: this.baseKeys, settings: this.settings, ttl: this.ttl };
  }

  private ready(): Client {
    this.lifecycle.assertOpen();
    if (!this.client) throw new DiscoveryClosedError('the redis backend is not open; call open() first');
    return this.client;
  }

  /** Runs one server call within the request timeout, its failure as a Roster error. */
  private async request<T>(what: string, run: (client: Client) => Promise<T>): Promise<T> {
    const client = this.ready();
    try {
      return await this.call(client, run, what);
    } catch (error) {
      if (this.lifecycle.isClosed && !(error instanceof DiscoveryClosedError))
        throw new DiscoveryClosedError('the redis backend was closed during the call');
      throw toBackendError(error, what, this.settings.namespace, this.ttl);
    }
  }

  /**
   * One call within the request timeout, waiting for a reconnect first if one is under way. Only
   * the command itself, once sent, counts towards the connection's silence (see RequestClock): a
   * call waiting for a reconnect is not evidence of a frozen server.
   */
  private call<T>(client: Client, run: (client: Client) => Promise<T>, what: string): Promise<T> {
    return withinTimeout(
      connected(client, this.settings.requestTimeout, () => this.lifecycle.isClosed).then((ready) =>
        this.clock.run(() => run(ready), what),
      ),
      this.settings.requestTimeout,
      what,
    );
  }
}
