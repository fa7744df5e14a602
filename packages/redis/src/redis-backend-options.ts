// The options of redisBackend(): their documentation, defaults and validation.
import { InvalidOptionsError } from '@roster/core';
import {
  assertValidNamespace,
  type BackendFactoryOptions,
  exclusiveOptions,
  numberOption,
} from '@roster/core/spi';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

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

/** The options, checked and with their defaults: what the backend runs on. */
export interface RedisSettings {
  readonly namespace: string;
  readonly persistent: boolean;
  readonly streamMaxLength: number;
  readonly historyDepth: number;
  readonly historyRetention: number;
  readonly requestTimeout: number;
  /** The client the application gave (never closed by the backend). */
  readonly client: Redis | Cluster | undefined;
  /** Where to connect when the backend makes its own client. */
  readonly connection: { readonly url: string | undefined; readonly options: RedisOptions };
}

/** Checks the options (an `InvalidOptionsError` names the first bad one) and fills in defaults. */
export function resolveRedisSettings(options: RedisBackendOptions): RedisSettings {
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
  exclusiveOptions({ client }, { url, ...redisOptions });
  if (client !== undefined && !(client instanceof Redis) && !(client instanceof Cluster))
    throw new InvalidOptionsError('client must be an ioredis Redis or Cluster instance');
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url)))
    throw new InvalidOptionsError(`url must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
  return {
    namespace,
    persistent: persistent ?? true,
    streamMaxLength: numberOption('streamMaxLength', streamMaxLength, {
      fallback: DEFAULT_STREAM_MAX_LENGTH,
      min: 10,
    }),
    historyDepth: numberOption('historyDepth', historyDepth, { fallback: DEFAULT_HISTORY_DEPTH, min: 1 }),
    historyRetention: numberOption('historyRetention', historyRetention, {
      fallback: DEFAULT_HISTORY_RETENTION,
      min: 1,
    }),
    requestTimeout: numberOption('requestTimeout', requestTimeout, {
      fallback: DEFAULT_REQUEST_TIMEOUT,
      min: 100,
    }),
    client,
    connection: { url, options: redisOptions },
  };
}
