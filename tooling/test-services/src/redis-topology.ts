// The shared part of the Redis Sentinel and Cluster handles: the data nodes' addresses, the probe
// timeout, and the wait until the topology's own health check finds nothing wrong.
import { ClusterServiceHandle } from './cluster-handle.js';
import type { RedisAddress } from './resp.js';
import type { ServiceHandle } from './service-handle.js';
import { waitFor } from './wait-for.js';

/** How long one probe of a node or sentinel may take: a frozen one must not hold up the check. */
export const PROBE_TIMEOUT_MS = 1_000;
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;

export const addressOf = (member: ServiceHandle): RedisAddress => {
  const url = new URL(member.url);
  return { host: url.hostname, port: Number(url.port) };
};

export const sameAddress = (a: RedisAddress, b: RedisAddress) => a.host === b.host && a.port === b.port;

export abstract class RedisTopology extends ClusterServiceHandle {
  declare readonly kind: 'redis';
  /** The data nodes, in member order. */
  readonly nodes: readonly RedisAddress[];

  /**
   * `members`: the data nodes; `helpers`: processes that go with them (sentinels); `what`: the
   * topology in the timeout message, e.g. `the Redis Cluster`.
   */
  constructor(
    members: ServiceHandle[],
    helpers: ServiceHandle[],
    readonly startupTimeoutMs: number,
    private readonly what: string,
  ) {
    const urls = members.map((m) => m.url);
    super('redis', urls.join(','), urls, members, helpers);
    this.nodes = members.map(addressOf);
  }

  async waitUntilHealthy(timeoutMs = this.startupTimeoutMs): Promise<void> {
    let problem = 'not checked yet';
    await waitFor(
      async () => {
        problem = (await this.healthProblem().catch((error: Error) => error.message)) ?? '';
        return problem === '';
      },
      { timeoutMs, description: `${this.what} to be healthy`, intervalMs: 100 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last problem: ${problem}`);
    });
  }

  /** What is wrong with the topology now, or undefined when it is healthy. */
  protected abstract healthProblem(): Promise<string | undefined>;
}
