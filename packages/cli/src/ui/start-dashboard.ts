import type { NodeDiscovery } from '@roster/core';
import { CliError, UsageError } from '../cli-error.js';
import { AccessGuard, isLoopback } from './access-guard.js';
import { startBackendProbe } from './backend-probe.js';
import { DashboardFeed } from './dashboard-feed.js';
import { DashboardServer } from './dashboard-server.js';

/** A node id no one is expected to use: reading its (empty) history is a cheap round trip. */
const PROBE_ID = 'roster-ui-probe';

/** What {@link startDashboard} needs: a connected discovery instance and where to listen. */
export interface DashboardOptions {
  readonly discovery: NodeDiscovery;
  /**
   * A small server round trip that tells whether the backend answers (the "reconnecting"
   * banner). Default: the history of a node id nobody uses, read through `discovery` itself, so
   * that it checks the very connection the view comes from and opens no other.
   */
  readonly probe?: () => Promise<unknown>;
  /** For the header: `nats at 127.0.0.1:4222`. */
  readonly backend: string;
  readonly namespace: string;
  readonly ttl: number;
  readonly host: string;
  readonly port: number;
  readonly token?: string;
  readonly allowActions: boolean;
  readonly now: () => number;
}

/** A running dashboard. */
export interface Dashboard {
  /** `http://127.0.0.1:4780/` */
  readonly url: string;
  /** Whether the address is reachable from other machines (a token is then required). */
  readonly exposed: boolean;
  close(): Promise<void>;
}

/**
 * Refuses (UsageError) an address other machines can reach without a token, and a token too
 * short to be a secret. Returns whether the address is exposed.
 */
export function checkExposure(host: string, token: string | undefined): boolean {
  const exposed = !isLoopback(host);
  if (exposed && token === undefined)
    throw new UsageError(
      `--host ${host} is reachable from other machines: the dashboard needs a token`,
      'add --ui-token <secret> (or env ROSTER_UI_TOKEN), or leave out --host to listen on 127.0.0.1 only',
    );
  if (token !== undefined && token.length < 8)
    throw new UsageError(
      '--ui-token must be at least 8 characters',
      'e.g. --ui-token "$(openssl rand -hex 16)"',
    );
  return exposed;
}

/**
 * Starts the dashboard: a watch of `discovery` that feeds every open page, a probe of the backend,
 * and the HTTP server. Listens on loopback unless told otherwise; any other address needs a token.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const exposed = checkExposure(options.host, options.token);
  const feed = new DashboardFeed(
    options.discovery,
    {
      backend: options.backend,
      namespace: options.namespace,
      ttl: options.ttl,
      actions: options.allowActions,
    },
    options.now,
  );
  const stopWatch = new AbortController();
  const watching = feed.run(stopWatch.signal).catch(() => {
    feed.setStatus({ status: 'closed', since: options.now() });
  });
  const probe = startBackendProbe(
    options.probe ?? (() => options.discovery.history(PROBE_ID, 1)),
    (status) => feed.setStatus(status),
    { now: options.now },
  );
  const server = new DashboardServer({
    feed,
    discovery: options.discovery,
    guard: new AccessGuard(options.token, !exposed),
    allowActions: options.allowActions,
    now: options.now,
  });
  const stop = async () => {
    probe.stop();
    stopWatch.abort();
    await watching;
  };
  let address: { port: number };
  try {
    address = await server.listen(options.port, options.host);
  } catch (error) {
    await stop();
    const code = (error as { code?: unknown }).code;
    throw new CliError(
      code === 'EADDRINUSE'
        ? `port ${options.port} on ${options.host} is already in use`
        : `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`,
      {
        hint: code === 'EADDRINUSE' ? '--port 0 picks a free port' : 'check --host and --port',
        cause: error,
      },
    );
  }
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${address.port}/`,
    exposed,
    async close() {
      await server.close();
      await stop();
    },
  };
}
