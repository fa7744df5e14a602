import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { BackendUnavailableError } from '@roster/core';

/** Ms the first connect may take before `open()` gives up. */
export const DEFAULT_CONNECT_TIMEOUT = 5_000;
/**
 * Ms between reconnect attempts (nats.js defaults to 2 s). A server restart then costs the
 * cluster view half a second rather than two; with the client's jitter that is still gentle.
 */
export const DEFAULT_RECONNECT_TIME_WAIT = 500;

/** `servers` as one string for messages. */
export function describeServers(servers: string | string[] | undefined): string {
  if (servers === undefined) return 'nats://127.0.0.1:4222';
  return Array.isArray(servers) ? servers.join(', ') : servers;
}

/**
 * Opens our own connection: reconnects forever once up (a discovery client must outlive server
 * restarts), but the first connect fails fast with `BackendUnavailableError` naming the server —
 * a wrong URL or bad credentials should not hang `createDiscovery()`.
 */
export async function openConnection(options: NodeConnectionOptions): Promise<NatsConnection> {
  const server = describeServers(options.servers);
  try {
    return await connect({
      timeout: DEFAULT_CONNECT_TIMEOUT,
      reconnectTimeWait: DEFAULT_RECONNECT_TIME_WAIT,
      ...options,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
    });
  } catch (error) {
    throw connectError(error, server);
  }
}

function connectError(error: unknown, server: string): BackendUnavailableError {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'AuthorizationError' || /authoriz|authenticat/i.test(message))
    return new BackendUnavailableError(
      `NATS server ${server} rejected the credentials (${message}); check user/pass, token, nkey or creds`,
      { cause: error },
    );
  return new BackendUnavailableError(`cannot connect to NATS at ${server}: ${message}`, { cause: error });
}

/**
 * The JetStream manager, or a clear error when the server runs without JetStream (KV needs it).
 */
export async function openJetStream(
  nc: NatsConnection,
  server: string,
  timeout: number,
): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc, { timeout });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const name = error instanceof Error ? error.name : '';
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
