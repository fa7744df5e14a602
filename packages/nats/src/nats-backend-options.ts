// The options of natsBackend(): their documentation, defaults and validation.
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { InvalidOptionsError } from '@roster/core';
import {
  assertValidNamespace,
  type BackendFactoryOptions,
  choiceOption,
  exclusiveOptions,
  numberOption,
} from '@roster/core/spi';
import { type BucketLayout, bucketLayout, type StorageKind } from './bucket-layout.js';
import { describeServers } from './nats-connection.js';

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
  /**
   * Ms `history()` remembers a state: the history bucket's MaxAge, never less than the ttl.
   * Default 24 h. The same option as `historyRetention` of `@roster/redis`.
   */
  historyRetention?: number;
  /** @deprecated The former name of `historyRetention` (give one of the two). */
  historyMaxAge?: number;
  /**
   * Ms any call that waits on the server (open, put, delete, get, list, history, close) may take
   * before it settles, even against a frozen server (rule 14 of docs/guarantees.md). Default 5000.
   */
  requestTimeout?: number;
  /**
   * Ms between checks that the bucket's stream is still the one the feeds read (not deleted or
   * recreated beneath us) and that no feed stalled (two checks). With `replicas` > 1 a leader
   * election of the stream makes the feeds re-list at once; this check is the fallback. Default 5000.
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
const DEFAULT_HISTORY_RETENTION = 24 * 60 * 60 * 1000;
const DEFAULT_REQUEST_TIMEOUT = 5_000;
const DEFAULT_STREAM_CHECK_INTERVAL = 5_000;

/** The options, checked and with their defaults: what the backend runs on. */
export interface NatsSettings {
  readonly namespace: string;
  readonly layout: BucketLayout;
  readonly storage: StorageKind;
  readonly historyLimit: number;
  readonly historyDepth: number;
  readonly historyRetention: number;
  readonly replicas: number;
  readonly requestTimeout: number;
  readonly streamCheckInterval: number;
  /** The server(s) as one string for messages. */
  readonly server: string;
}

/** Checks the options (an `InvalidOptionsError` names the first bad one) and fills in defaults. */
export function resolveNatsSettings(options: NatsBackendOptions): NatsSettings {
  const namespace = options.namespace ?? 'default';
  assertValidNamespace(namespace);
  if (!options.connection && options.servers === undefined)
    throw new InvalidOptionsError(
      'natsBackend needs `servers` (e.g. "nats://127.0.0.1:4222") or a `connection`',
    );
  exclusiveOptions({ historyRetention: options.historyRetention }, { historyMaxAge: options.historyMaxAge });
  return {
    namespace,
    storage: choiceOption('storage', options.storage, ['file', 'memory'] as const, 'file'),
    layout: bucketLayout(namespace),
    historyLimit: numberOption('history', options.history, { fallback: DEFAULT_HISTORY, min: 1, max: 64 }),
    historyDepth: numberOption('historyDepth', options.historyDepth, {
      fallback: DEFAULT_HISTORY_DEPTH,
      min: 1,
      max: 64,
    }),
    historyRetention: numberOption(
      options.historyMaxAge !== undefined ? 'historyMaxAge' : 'historyRetention',
      options.historyRetention ?? options.historyMaxAge,
      { fallback: DEFAULT_HISTORY_RETENTION, min: 1 },
    ),
    replicas: numberOption('replicas', options.replicas, { fallback: 1, min: 1, max: 5 }),
    requestTimeout: numberOption('requestTimeout', options.requestTimeout, {
      fallback: DEFAULT_REQUEST_TIMEOUT,
      min: 1,
    }),
    streamCheckInterval: numberOption('streamCheckInterval', options.streamCheckInterval, {
      fallback: DEFAULT_STREAM_CHECK_INTERVAL,
      min: 1,
    }),
    server: options.connection
      ? (options.connection.getServer() ?? 'the given connection')
      : describeServers(options.servers),
  };
}

/** The options that are nats.js connection options, for a connection the backend opens itself. */
export function connectionOptionsOf(options: NatsBackendOptions): NodeConnectionOptions {
  const {
    connection,
    servers,
    namespace,
    storage,
    history,
    replicas,
    historyDepth,
    historyRetention,
    historyMaxAge,
    requestTimeout,
    streamCheckInterval,
    limitMarkers,
    ...connectionOptions
  } = options;
  return { ...connectionOptions, ...(servers !== undefined ? { servers } : {}) };
}
