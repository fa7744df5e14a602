import { randomBytes } from 'node:crypto';
import { findBinary } from './binary-lookup.js';
import { startBinaryMember } from './binary-service.js';
import {
  type ClusterHandle,
  ClusterServiceHandle,
  checkCount,
  DEFAULT_STARTUP_TIMEOUT_MS,
  type FailoverReport,
  PROBE_TIMEOUT_MS,
  readyOrStopped,
  startMembers,
} from './cluster-handle.js';
import { NATS_ENV_VAR, type NatsPorts, natsArgs, natsIsReady, writeConfig } from './nats.js';
import type { CommonStartOptions, ServiceHandle } from './service-handle.js';
import { httpGet, tcpExchange } from './tcp-exchange.js';

/** Options for {@link startNatsCluster}. */
export interface NatsClusterStartOptions extends CommonStartOptions {
  /** How many nats-server processes. Default 3 (the smallest JetStream cluster that survives losing one). */
  size?: number;
  /** nats-server configuration text for every member (see `NatsStartOptions.config`); the cluster flags win over it. */
  config?: string;
}

/** A JetStream cluster of nats-server processes routed to each other on loopback. */
export interface NatsClusterHandle extends ClusterHandle {
  readonly kind: 'nats';
  /** Every member's monitoring endpoint (`/healthz`, `/jsz`, `/routez`), in member order. */
  readonly monitorUrls: readonly string[];
  /**
   * Index of the JetStream meta leader, or of the leader of `stream` (a KV bucket `b` is the
   * stream `KV_b`); undefined while there is none or no member answers.
   */
  leader(stream?: string): Promise<number | undefined>;
  /**
   * Kills the meta leader (or `stream`'s leader; member 0 when there is none), waits until another
   * member leads, restarts the killed member on its ports and store, and waits until the cluster is
   * healthy again.
   */
  failover(options?: { stream?: string }): Promise<FailoverReport>;
}

interface ClusterPorts extends NatsPorts {
  route: number;
}

interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

/**
 * Each cluster has its own name and its members' server names carry it: test files run in
 * parallel, and a port probed free can be taken by another file's cluster before our member binds
 * it. Health checks then tell our member from that stranger (which once answered as "roster-1").
 */
const memberName = (cluster: string, i: number) => `${cluster}-${i}`;

/**
 * Whether both the monitoring and the client port answer as server `name`. Checked before a
 * member counts as started: a stranger on a probed port is then never taken for ours; our
 * process exits with "address already in use" and the start retries on new ports.
 */
async function answersAs(ports: NatsPorts, name: string): Promise<boolean> {
  const varz = await httpGet(`http://127.0.0.1:${ports.monitor}/varz`, PROBE_TIMEOUT_MS);
  if ((JSON.parse(varz.body) as { server_name?: string }).server_name !== name) return false;
  const greeting = await tcpExchange({
    host: '127.0.0.1',
    port: ports.client,
    until: (received) => received.includes('\r\n'),
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  const info = /^INFO\s+(\{.*\})\s*\r\n/.exec(greeting)?.[1];
  return info !== undefined && (JSON.parse(info) as { server_name?: string }).server_name === name;
}

class NatsCluster extends ClusterServiceHandle implements NatsClusterHandle {
  declare readonly kind: 'nats';

  constructor(
    members: ServiceHandle[],
    readonly monitorUrls: readonly string[],
    startupTimeoutMs: number,
    readonly clusterName: string,
  ) {
    super('nats', members, startupTimeoutMs, 'the NATS cluster');
  }

  async #jsz(i: number, query = ''): Promise<Jsz | undefined> {
    try {
      const { status, body } = await httpGet(`${this.monitorUrls[i]}/jsz${query}`, PROBE_TIMEOUT_MS);
      return status === 200 ? (JSON.parse(body) as Jsz) : undefined;
    } catch {
      return undefined; // down or frozen: ask the next member
    }
  }

  async leader(stream?: string): Promise<number | undefined> {
    for (let i = 0; i < this.size; i++) {
      const jsz = await this.#jsz(i, stream === undefined ? '' : '?accounts=true&streams=true');
      const name =
        stream === undefined
          ? jsz?.meta_cluster?.leader
          : jsz?.account_details
              ?.flatMap((account) => account.stream_detail ?? [])
              .find((detail) => detail.name === stream)?.cluster?.leader;
      if (name) return this.#indexOf(name);
    }
    return undefined;
  }

  #indexOf(name: string): number | undefined {
    const index = Array.from({ length: this.size }, (_, i) => memberName(this.clusterName, i)).indexOf(name);
    return index < 0 ? undefined : index;
  }

  /**
   * Healthy means, on every member: `/healthz` is 200 (in a cluster it also checks that the member
   * is current with the meta group and its streams), every route is up, and all agree on a meta
   * leader.
   */
  protected async healthProblem(): Promise<string | undefined> {
    const leaders = new Set<string | undefined>();
    for (let i = 0; i < this.size; i++) {
      try {
        const varz = await httpGet(`${this.monitorUrls[i]}/varz`, PROBE_TIMEOUT_MS);
        const serverName = (JSON.parse(varz.body) as { server_name?: string }).server_name;
        if (serverName !== memberName(this.clusterName, i))
          return `member ${i}'s ports answer as "${serverName}", not "${memberName(this.clusterName, i)}": another server took them`;
        const health = await httpGet(`${this.monitorUrls[i]}/healthz`, PROBE_TIMEOUT_MS);
        if (health.status !== 200) return `member ${i} /healthz: ${health.status} ${health.body.trim()}`;
        const routez = await httpGet(`${this.monitorUrls[i]}/routez`, PROBE_TIMEOUT_MS);
        const routes = (JSON.parse(routez.body) as { num_routes?: number }).num_routes ?? 0;
        if (routes < this.size - 1) return `member ${i} has ${routes} of ${this.size - 1} routes`;
      } catch (error) {
        return `member ${i}: ${(error as Error).message}`;
      }
      leaders.add((await this.#jsz(i))?.meta_cluster?.leader);
    }
    if (leaders.size !== 1 || leaders.has(undefined) || leaders.has('')) {
      return `members disagree on the meta leader: ${[...leaders].join(', ')}`;
    }
    return undefined;
  }

  async failover(options: { stream?: string } = {}): Promise<FailoverReport> {
    this.assertCanFailOver();
    const current = await this.leader(options.stream);
    if (current === undefined && options.stream !== undefined) {
      throw new Error(`stream ${options.stream} has no leader: does it exist, with replicas?`);
    }
    const killed = current ?? 0;
    const what = options.stream === undefined ? 'the meta group' : `stream ${options.stream}`;
    return this.killAndRecover(killed, `a new leader of ${what} after killing member ${killed}`, async () => {
      const leader = await this.leader(options.stream);
      return leader !== undefined && leader !== killed ? leader : undefined;
    });
  }
}

/**
 * A JetStream cluster for one test run: `size` nats-server processes (default 3) on loopback,
 * each with its own store dir, routed to each other (a cluster name `roster<random hex>` of its
 * own, server names `<cluster name>-0`…). Resolves once every member is healthy and a meta leader is elected. Always from the
 * binary (no container or `ROSTER_NATS_URL` path for clusters).
 *
 * @example
 * ```ts
 * const nats = await startNatsCluster({ size: 3 });
 * const nc = await connect({ servers: nats.urls });
 * await nats.failover(); // kill the meta leader, wait for a new one, bring it back
 * ```
 */
export async function startNatsCluster(options: NatsClusterStartOptions = {}): Promise<NatsClusterHandle> {
  const size = checkCount('size', options.size ?? 3, 1);
  const binary = findBinary(
    { name: 'nats-server', debianPackage: 'nats-server', envVar: NATS_ENV_VAR },
    options.searchPath,
  );
  const startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  const clusterName = `roster${randomBytes(4).toString('hex')}`;
  const members = await startMembers(size, 3, (i, all) => {
    const ports = toPorts(all[i] as number[]);
    const routes = all.map((p) => `nats://127.0.0.1:${toPorts(p).route}`).join(',');
    return startBinaryMember<ClusterPorts>({
      kind: 'nats',
      name: `nats-${i}`,
      binary,
      ports,
      allPorts: all[i] as number[],
      args: (p, dataDir, tempDir) => [
        // JetStream clustering needs distinct server names.
        ...natsArgs(
          '127.0.0.1',
          p,
          dataDir,
          {},
          memberName(clusterName, i),
          writeConfig(tempDir, options.config),
        ),
        '--cluster_name',
        clusterName,
        '--cluster',
        `nats://127.0.0.1:${p.route}`,
        // A member lists itself too; nats-server ignores a route to itself.
        '--routes',
        routes,
      ],
      url: `nats://127.0.0.1:${ports.client}`,
      isReady: async () =>
        (await answersAs(ports, memberName(clusterName, i))) && (await natsIsReady('127.0.0.1', ports)),
      startupTimeoutMs,
    });
  });
  const monitorUrls = members.map((m) => `http://127.0.0.1:${m.ports.monitor}`);
  return readyOrStopped(new NatsCluster(members, monitorUrls, startupTimeoutMs, clusterName));
}

function toPorts([client, monitor, route]: number[]): ClusterPorts {
  return { client: client as number, monitor: monitor as number, route: route as number };
}
