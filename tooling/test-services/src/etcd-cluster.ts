import { randomUUID } from 'node:crypto';
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
import { ETCD_ENV_VAR, type EtcdPorts, etcdIsReady } from './etcd.js';
import type { CommonStartOptions, ServiceHandle } from './service-handle.js';
import { httpRequest } from './tcp-exchange.js';

/** Options for {@link startEtcdCluster}. */
export interface EtcdClusterStartOptions extends CommonStartOptions {
  /** How many etcd members. Default 3 (the smallest cluster that survives losing one). */
  size?: number;
  /**
   * Raft election timeout in ms (`--election-timeout`; the heartbeat is a tenth of it). Default
   * 1000, etcd's own default: a failover takes about that long, and a busy 2-core machine does
   * not trigger spurious elections as a shorter one would.
   */
  electionTimeoutMs?: number;
}

/** An etcd cluster of several members on loopback. */
export interface EtcdClusterHandle extends ClusterHandle {
  readonly kind: 'etcd';
  /** Index of the raft leader, from `/v3/maintenance/status`; undefined during an election or when no member answers. */
  leader(): Promise<number | undefined>;
  /**
   * Kills the leader (member 0 when there is none), waits until another member leads, restarts the
   * killed member on its ports and data dir, and waits until every member is healthy.
   */
  failover(): Promise<FailoverReport>;
}

interface Status {
  header?: { member_id?: string };
  leader?: string;
}

/**
 * Whether the etcd answering on `ports.client` is the member we started there: the one whose
 * member entry advertises our peer URL. A port probed free can be taken by another test file's
 * etcd before ours binds it, and that stranger passes `/health`; ours then exits with "address
 * already in use", which the start turns into new ports for every member.
 */
export async function answersAsMember(ports: EtcdPorts): Promise<boolean> {
  const { status, body } = await httpRequest(`http://127.0.0.1:${ports.client}/v3/cluster/member/list`, {
    method: 'POST',
    body: '{}',
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  if (status !== 200) return false;
  const list = JSON.parse(body) as {
    header?: { member_id?: string };
    members?: { ID?: string; peerURLs?: string[] }[];
  };
  const self = list.members?.find((member) => member.ID === list.header?.member_id);
  return self?.peerURLs?.includes(`http://127.0.0.1:${ports.peer}`) ?? false;
}

class EtcdCluster extends ClusterServiceHandle implements EtcdClusterHandle {
  declare readonly kind: 'etcd';
  /** Raft member id (a uint64, as the JSON gateway spells it: a decimal string) to index. */
  readonly #memberIds = new Map<string, number>();

  constructor(members: ServiceHandle[], startupTimeoutMs: number) {
    super('etcd', members, startupTimeoutMs, 'the etcd cluster');
  }

  async #status(i: number): Promise<Status | undefined> {
    try {
      const { status, body } = await httpRequest(`${this.urls[i]}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      return status === 200 ? (JSON.parse(body) as Status) : undefined;
    } catch {
      return undefined; // down or frozen: ask the next member
    }
  }

  /** Member ids survive restarts (they live in the data dir), so they are learnt once. */
  async learnMemberIds(): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      const id = (await this.#status(i))?.header?.member_id;
      if (!id) throw new Error(`etcd member ${i} did not report its member id`);
      this.#memberIds.set(id, i);
    }
  }

  async leader(): Promise<number | undefined> {
    for (let i = 0; i < this.size; i++) {
      const leader = (await this.#status(i))?.leader;
      // "0" (or no field) while an election runs
      if (leader && leader !== '0') return this.#memberIds.get(leader);
    }
    return undefined;
  }

  /** Every member answers `/health` (which needs a leader) and all name the same leader. */
  protected async healthProblem(): Promise<string | undefined> {
    const leaders = new Set<string | undefined>();
    for (let i = 0; i < this.size; i++) {
      const port = Number(new URL(this.urls[i] as string).port);
      const healthy = await etcdIsReady('127.0.0.1', port).catch(() => false);
      if (!healthy) return `member ${i} is not healthy`;
      leaders.add((await this.#status(i))?.leader);
    }
    if (leaders.size !== 1 || leaders.has(undefined) || leaders.has('0')) {
      return `members disagree on the leader: ${[...leaders].join(', ')}`;
    }
    return undefined;
  }

  async failover(): Promise<FailoverReport> {
    this.assertCanFailOver();
    const killed = (await this.leader()) ?? 0;
    return this.killAndRecover(killed, `a new etcd leader after killing member ${killed}`, async () => {
      const leader = await this.leader();
      return leader !== undefined && leader !== killed ? leader : undefined;
    });
  }
}

/**
 * An etcd cluster for one test run: `size` members (default 3) named `roster-0`…, with client and
 * peer URLs on loopback ports and a data dir each. Resolves once every member is healthy and they
 * agree on a leader. Always from the binary.
 *
 * @example
 * ```ts
 * const etcd = await startEtcdCluster({ size: 3 });
 * const client = new Etcd3({ hosts: etcd.urls });
 * await etcd.failover();
 * ```
 */
export async function startEtcdCluster(options: EtcdClusterStartOptions = {}): Promise<EtcdClusterHandle> {
  const size = checkCount('size', options.size ?? 3, 1);
  const electionTimeoutMs = checkCount('electionTimeoutMs', options.electionTimeoutMs ?? 1_000, 50);
  const binary = findBinary(
    { name: 'etcd', debianPackage: 'etcd-server', envVar: ETCD_ENV_VAR },
    options.searchPath,
  );
  const startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  // A token per cluster, so that members of two clusters in one run can never join each other.
  const token = `roster-${randomUUID()}`;
  const members = await startMembers(size, 2, (i, all) => {
    const ports = toPorts(all[i] as number[]);
    const initialCluster = all.map((p, j) => `roster-${j}=http://127.0.0.1:${toPorts(p).peer}`).join(',');
    return startBinaryMember<EtcdPorts>({
      kind: 'etcd',
      name: `etcd-${i}`,
      binary,
      ports,
      allPorts: all[i] as number[],
      // The --initial-* flags only matter on the first start; a restart finds the member in its data dir.
      args: (p, dataDir) => [
        '--name',
        `roster-${i}`,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${p.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${p.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${p.peer}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-token',
        token,
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        String(Math.max(10, Math.round(electionTimeoutMs / 10))),
        '--election-timeout',
        String(electionTimeoutMs),
        '--logger',
        'zap',
        '--log-outputs',
        'stderr',
      ],
      url: `http://127.0.0.1:${ports.client}`,
      // /health needs a leader, so a member is ready once a quorum has started: start them together.
      isReady: async () => (await etcdIsReady('127.0.0.1', ports.client)) && (await answersAsMember(ports)),
      startupTimeoutMs,
    });
  });
  return readyOrStopped(new EtcdCluster(members, startupTimeoutMs), async (cluster) => {
    await cluster.waitUntilHealthy();
    await cluster.learnMemberIds();
  });
}

function toPorts([client, peer]: number[]): EtcdPorts {
  return { client: client as number, peer: peer as number };
}
