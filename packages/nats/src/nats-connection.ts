// Opening the NATS connection and the JetStream manager, failing fast with errors that say what to fix.
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { BackendAuthError, BackendUnavailableError, type Logger } from '@roster/core';
import { isAuthFailure, isTemporarilyUnavailable } from './nats-errors.js';
import { probeServer } from './server-probe.js';
import { leastRecentlyDialed, pingIntervalFor } from './unresponsive-server.js';

/** Ms the first connect may take before `open()` gives up. */
export const DEFAULT_CONNECT_TIMEOUT = 5_000;
/**
 * Ms between reconnect attempts (nats.js defaults to 2 s). A server restart then costs the
 * cluster view half a second rather than two; with the client's jitter that is still gentle.
 */
export const DEFAULT_RECONNECT_TIME_WAIT = 500;

/**
 * Ms the client's own timeout of a request runs past Roster's deadline for it. Both would fire
 * at the same instant otherwise, and which timer came first would decide the error a caller
 * sees; this way Roster's deadline always settles the call, with its own message (rule 14 of
 * docs/guarantees.md), and the client's timeout is only the backstop that frees the request.
 */
const CLIENT_TIMEOUT_SLACK = 250;

/** The nats.js timeout of a request whose Roster deadline is `timeout` ms (see `CLIENT_TIMEOUT_SLACK`). */
export function clientTimeout(timeout: number): number {
  return timeout + CLIENT_TIMEOUT_SLACK;
}

/** `servers` as one string for messages. */
export function describeServers(servers: string | string[] | undefined): string {
  if (servers === undefined) return 'nats://127.0.0.1:4222';
  return Array.isArray(servers) ? servers.join(', ') : servers;
}

function serverList(servers: string | string[] | undefined): string[] {
  if (servers === undefined) return ['nats://127.0.0.1:4222'];
  return (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter(Boolean);
}

/**
 * Opens our own connection: reconnects forever once up (a discovery client must outlive server
 * restarts), but the first connect fails fast with `BackendUnavailableError` naming the server —
 * a wrong URL should not hang `createDiscovery()` — or `BackendAuthError` for bad credentials.
 *
 * Each server is probed first (see `probeServer`): only servers that greet like NATS are handed
 * to nats.js, whose first connect leaks its socket on a server that never greets. nats.js drops a
 * server that fails the first connect from its pool anyway, so this changes no reconnect target.
 *
 * Given the namespace's `ttl`, a server that stops answering (frozen, hung) is left within three
 * ping intervals (0.3 ttl for a ttl of 10 s or more) for another member (see `pingIntervalFor`
 * and `leastRecentlyDialed`), unless the options set `pingInterval` or `reconnectToServer`.
 */
export async function openConnection(options: NodeConnectionOptions, ttl?: number): Promise<NatsConnection> {
  const server = describeServers(options.servers);
  const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
  let servers = options.servers;
  // A server configured for TLS-first waits for our handshake: it greets no one in plain text.
  if (options.tls?.handshakeFirst !== true) {
    const list = serverList(options.servers);
    const results = await Promise.all(list.map((s) => probeServer(s, timeout, options.tls ?? undefined)));
    const answering = list.filter((_, i) => results[i]?.ok);
    if (answering.length === 0) {
      const reasons = [
        ...new Set(results.map((r) => (r.ok ? '' : r.reason)).filter((reason) => reason !== '')),
      ];
      throw new BackendUnavailableError(`cannot connect to NATS at ${server}: ${reasons.join('; ')}`);
    }
    if (answering.length < list.length) servers = answering;
  }
  try {
    return await connect({
      timeout,
      reconnectTimeWait: DEFAULT_RECONNECT_TIME_WAIT,
      ...(ttl !== undefined ? { pingInterval: pingIntervalFor(ttl) } : {}),
      reconnectToServer: leastRecentlyDialed,
      ...options,
      ...(servers !== undefined ? { servers } : {}),
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
    });
  } catch (error) {
    throw connectError(error, server);
  }
}

function connectError(error: unknown, server: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (isAuthFailure(error))
    return new BackendAuthError(
      `NATS server ${server} rejected the credentials (${message}); check user/pass, token, nkey or creds`,
      { cause: error },
    );
  return new BackendUnavailableError(`cannot connect to NATS at ${server}: ${message}`, { cause: error });
}

/**
 * The JetStream manager, or a clear error when the server runs without JetStream (KV needs it).
 *
 * The check is an account-info request, which a clustered JetStream answers only while its meta
 * group has a leader. A member that resumes after a freeze makes nats-server 2.9 elect the meta
 * leader again: every member then answers 503 "temporarily unavailable" for 4-5 s, while existing
 * streams keep serving through their own leaders (stream info, the KV subjects). That 503 already
 * proves JetStream is enabled, so the manager is used without the check; creating a missing
 * bucket still needs the meta leader and is retried by `untilAvailable`.
 */
export async function openJetStream(
  nc: NatsConnection,
  server: string,
  timeout: number,
): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc, { timeout });
  } catch (error) {
    if (isTemporarilyUnavailable(error)) return jetstreamManager(nc, { timeout, checkAPI: false });
    const message = error instanceof Error ? error.message : String(error);
    const name = error instanceof Error ? error.name : '';
    if (isAuthFailure(error))
      throw new BackendAuthError(
        `the NATS user may not use the JetStream API at ${server} (${message}); see the permissions in the README`,
        { cause: error },
      );
    if (name === 'JetStreamNotEnabled' || /jetstream.*not enabled|no responders|503/i.test(message))
      throw new BackendUnavailableError(
        `JetStream is not enabled on the NATS server at ${server} (${message}); ` +
          'the Roster NATS backend stores nodes in a JetStream KV bucket: start nats-server with -js ' +
          '(or `jetstream {}` in its config) and give the account JetStream limits',
        { cause: error },
      );
    throw new BackendUnavailableError(`JetStream at ${server} did not answer: ${message}`, { cause: error });
  }
}

/**
 * Retries a step of `open()`, or a read, while a JetStream cluster elects a leader (right after a
 * restart or a failover), with a short capped backoff, as long as `stillWanted()`; the deadline
 * of the open or of the request ends it.
 */
export async function untilAvailable<T>(
  step: () => Promise<T>,
  stillWanted: () => boolean,
  logger: Logger,
  server: string,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!isTemporarilyUnavailable(error) || !stillWanted()) throw error;
      logger.info(`JetStream at ${server} is temporarily unavailable; retrying`, { attempt });
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 1_000)));
    }
  }
}
