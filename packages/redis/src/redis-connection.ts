// The connections of the Redis backend: making, connecting and describing clients, waiting out a reconnect.
import { BackendAuthError, BackendUnavailableError, DiscoveryClosedError, type Logger } from '@roster/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisSettings } from './redis-backend-options.js';
import { isAuthFailure } from './redis-errors.js';

/** What the backend talks to: a single server (direct or found through Sentinel) or a Cluster. */
export type AnyClient = Redis | Cluster;

/** How long a disconnect waits for the server to close its side before destroying the socket. */
const DISCONNECT_TIMEOUT_MS = 200;

/** The connect timeout a client was made with (a Cluster keeps it in its per-node options). */
function connectTimeoutOf(client: AnyClient): number | undefined {
  return client instanceof Cluster
    ? client.options.redisOptions?.connectTimeout
    : client.options.connectTimeout;
}

/** A client of our own: fails fast while the server is gone (core retries), logs a drop once and the return. */
export function createClient(settings: RedisSettings, logger: Logger): Redis {
  const { url, options } = settings.connection;
  const clientOptions: RedisOptions = {
    // Fail fast instead of queueing writes for a server that may be gone for long: core retries.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: settings.requestTimeout,
    // Commands issued in the same tick (many owned nodes' heartbeats) share one round trip.
    enableAutoPipelining: true,
    // close() on a frozen server: destroy the socket soon instead of waiting 2 s for its FIN.
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    connectionName: `roster:${settings.namespace}`,
    // Behind Sentinel: reconnect as soon as the sentinels announce a new primary (+switch-master).
    // A frozen primary keeps its sockets open, so without this the client stays on it.
    ...(options.sentinels?.length ? { failoverDetector: true } : {}),
    ...options,
    lazyConnect: true,
  };
  const client = url === undefined ? new Redis(clientOptions) : new Redis(url, clientOptions);
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn(`redis connection error: ${error.message}`, { error });
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info('redis connection is back');
    down = false;
  });
  return client;
}

/**
 * Connects (or waits for) the client within its connect timeout (ioredis bounds only the TCP
 * handshake; a frozen server accepts the socket and never answers the ready check). The last
 * socket error explains a failure.
 */
export async function connect(client: AnyClient, requestTimeout: number): Promise<void> {
  if (client.status === 'ready') return;
  const timeoutMs = connectTimeoutOf(client) ?? requestTimeout;
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
    const where = describeServer(client);
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

/**
 * The client once it is connected. A short reconnect (a server restart, a network blip) is
 * waited out (within the request timeout of the caller); a longer outage fails with
 * BackendUnavailableError instead of piling commands up in an offline queue.
 */
export async function connected<C extends AnyClient>(
  client: C,
  requestTimeout: number,
  isClosed: () => boolean,
): Promise<C> {
  if (client.status === 'ready') return client;
  const timeoutMs = Math.min(connectTimeoutOf(client) ?? Infinity, requestTimeout);
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
  if (isClosed()) throw new DiscoveryClosedError('the redis backend is closed');
  // The status changed while we waited (TypeScript still narrows it from the check above).
  if ((client.status as string) !== 'ready')
    throw new BackendUnavailableError(
      `Redis at ${describeServer(client)} is unreachable (connection ${client.status} for ${timeoutMs} ms)`,
    );
  return client;
}

/**
 * A Sentinel client of the application's without `failoverDetector` stays on a frozen primary
 * (its sockets stay open) until the primary thaws: heartbeats fail meanwhile and the owners'
 * records expire on the new primary. Said once, at open.
 */
export function warnWithoutFailoverDetector(client: AnyClient, logger: Logger): void {
  if (client instanceof Cluster || !client.options.sentinels?.length || client.options.failoverDetector)
    return;
  logger.warn(
    'the Sentinel client given to redisBackend has no failoverDetector: it follows a failover only once its connection drops, which a frozen primary never does (create it with failoverDetector: true)',
  );
}

/** A connection of its own for one watch's blocking reads (XREAD BLOCK holds its connection). */
export function feedConnection(client: AnyClient, namespace: string): AnyClient {
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
    connectionName: `roster:${namespace}:watch`,
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

function describeServer(client: AnyClient): string {
  if (client instanceof Cluster) {
    const seeds = client.nodes('all').map((node) => `${node.options.host}:${node.options.port}`);
    return `Redis Cluster ${seeds.join(',') || '(no node reached)'}`;
  }
  const { host, port, path, sentinels, name } = client.options;
  if (sentinels?.length) return `sentinel master "${name ?? '?'}"`;
  return path ?? `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

/** Tells the operator when a restart would lose every record; CONFIG may be denied to us, which is fine. */
export async function reportDurability(client: AnyClient, logger: Logger, namespace: string): Promise<void> {
  try {
    const [, appendonly] = (await client.config('GET', 'appendonly')) as string[];
    const [, save] = (await client.config('GET', 'save')) as string[];
    if (appendonly !== 'yes' && !save)
      logger.warn(
        'the Redis server keeps no AOF or RDB snapshots: a restart loses every record (owners register their nodes again)',
        { namespace: namespace },
      );
  } catch (error) {
    logger.debug('could not read the Redis persistence settings (CONFIG GET denied?)', { error });
  }
}
