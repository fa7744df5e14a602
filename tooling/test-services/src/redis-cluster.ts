// Redis Cluster for tests: masters and replicas, each its own redis-server process, joined by
// redis-cli; the handle's view of the cluster, health check and failover.
import { spawn } from 'node:child_process';
import { findBinary } from './binary-lookup.js';
import {
  type ClusterHandle,
  checkCount,
  DEFAULT_STARTUP_TIMEOUT_MS,
  type FailoverReport,
  PROBE_TIMEOUT_MS,
  readyOrStopped,
  startMembers,
} from './cluster-handle.js';
import { REDIS_ENV_VAR } from './redis.js';
import { DURABLE_DATA_NODE, redisServerBinary, startRedisMember } from './redis-member.js';
import { RedisTopology } from './redis-topology.js';
import { type RedisAddress, type RespValue, redisCommand, redisInfo } from './resp.js';
import type { CommonStartOptions, ServiceHandle } from './service-handle.js';

/** Options for {@link startRedisCluster}. */
export interface RedisClusterStartOptions extends CommonStartOptions {
  /** How many masters share the 16384 slots. Default 3, the minimum `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicas?: number;
  /** `cluster-node-timeout` in ms: how long a master may be silent before its replica takes over. Default 1000. */
  nodeTimeoutMs?: number;
}

/** One node as `CLUSTER NODES` describes it. */
export interface RedisClusterNode {
  /** Member index. */
  index: number;
  role: 'master' | 'replica';
  /** For a replica: the index of its master. */
  masterIndex: number | undefined;
  /** Flagged `fail` or `fail?` (suspected) by the node that was asked. */
  failing: boolean;
}

/** A Redis Cluster: masters with their replicas, slots spread by `redis-cli --cluster create`. */
export interface RedisClusterHandle extends ClusterHandle {
  readonly kind: 'redis';
  /** Every node's address, in member order (a cluster client needs one or more as seeds). */
  readonly nodes: readonly RedisAddress[];
  /** The cluster's view of its nodes (asked of the first member that answers). */
  topology(): Promise<RedisClusterNode[]>;
  /**
   * Kills a master (`master`, default: the first master in member order), waits until one of its
   * replicas is promoted and the cluster state is `ok`, restarts the killed node (it rejoins as a
   * replica of the promoted one), and waits until the cluster is healthy.
   */
  failover(options?: { master?: number }): Promise<FailoverReport>;
  /**
   * The member index of the master serving `key`'s slot (as the first member that answers sees
   * it): the one to fail over or freeze for the data under that key — e.g. a Roster namespace,
   * whose keys all carry the hash tag `{roster:<namespace>}`.
   */
  slotMaster(key: string): Promise<number>;
}

const CREATE_TIMEOUT_MS = 30_000;

interface ClusterPorts {
  client: number;
  bus: number;
}

class RedisClusterTopology extends RedisTopology implements RedisClusterHandle {
  constructor(members: ServiceHandle[], startupTimeoutMs: number) {
    super(members, [], startupTimeoutMs, 'the Redis Cluster');
  }

  async #nodesSeenBy(i: number): Promise<RedisClusterNode[]> {
    const text = String(
      await redisCommand(this.nodes[i] as RedisAddress, ['CLUSTER', 'NODES'], {
        timeoutMs: PROBE_TIMEOUT_MS,
      }),
    );
    const lines = text
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    const idToIndex = new Map<string, number>();
    for (const [id, address] of lines) {
      const port = Number(/:(\d+)@/.exec(address ?? '')?.[1]);
      const index = this.nodes.findIndex((node) => node.port === port);
      if (id && index >= 0) idToIndex.set(id, index);
    }
    return lines
      .map(([id, , flags = '', masterId]) => {
        const flagList = flags.split(',');
        return {
          index: idToIndex.get(id ?? '') ?? -1,
          role: flagList.includes('master') ? ('master' as const) : ('replica' as const),
          masterIndex: masterId && masterId !== '-' ? idToIndex.get(masterId) : undefined,
          failing: flagList.includes('fail') || flagList.includes('fail?'),
        };
      })
      .filter((node) => node.index >= 0)
      .sort((a, b) => a.index - b.index);
  }

  async slotMaster(key: string): Promise<number> {
    const options = { timeoutMs: PROBE_TIMEOUT_MS };
    let lastError: unknown;
    for (const node of this.nodes) {
      try {
        const slot = Number(await redisCommand(node, ['CLUSTER', 'KEYSLOT', key], options));
        // Rows: [first slot, last slot, [host, port, id], ...replicas].
        const rows = (await redisCommand(node, ['CLUSTER', 'SLOTS'], options)) as RespValue[][];
        const row = rows.find(([first, last]) => Number(first) <= slot && slot <= Number(last));
        const master = row?.[2] as RespValue[] | undefined;
        const index = master ? this.nodes.findIndex((n) => n.port === Number(master[1])) : -1;
        if (index < 0) throw new Error(`no member of the cluster serves slot ${slot} (key ${key})`);
        return index;
      } catch (error) {
        lastError = error; // down or frozen: ask the next one
      }
    }
    throw new Error(`no Redis Cluster node told the master of ${key}: ${(lastError as Error)?.message}`);
  }

  async topology(): Promise<RedisClusterNode[]> {
    let lastError: unknown;
    for (let i = 0; i < this.size; i++) {
      try {
        return await this.#nodesSeenBy(i);
      } catch (error) {
        lastError = error; // down or frozen: ask the next one
      }
    }
    throw new Error(`no Redis Cluster node answered: ${(lastError as Error)?.message}`);
  }

  /**
   * Healthy: every node says `cluster_state:ok` and knows all nodes, none is flagged failing, and
   * every replica has its replication link up.
   */
  protected async healthProblem(): Promise<string | undefined> {
    const options = { timeoutMs: PROBE_TIMEOUT_MS };
    for (const [i, node] of this.nodes.entries()) {
      const cluster = String(await redisCommand(node, ['CLUSTER', 'INFO'], options));
      if (!cluster.includes('cluster_state:ok')) return `node ${i}: cluster_state is not ok`;
      if (!cluster.includes(`cluster_known_nodes:${this.size}`))
        return `node ${i} does not know all ${this.size} nodes`;
      const seen = await this.#nodesSeenBy(i);
      const failing = seen.find((n) => n.failing);
      if (failing) return `node ${i} flags node ${failing.index} as failing`;
      const replication = await redisInfo(node, 'replication', options);
      if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') {
        return `replica ${i} has its link down`;
      }
    }
    return undefined;
  }

  async failover(options: { master?: number } = {}): Promise<FailoverReport> {
    const before = await this.topology();
    const killed = options.master ?? before.find((n) => n.role === 'master')?.index ?? 0;
    if (before[killed]?.role !== 'master') throw new Error(`member ${killed} is not a master`);
    const replicas = before.filter((n) => n.masterIndex === killed).map((n) => n.index);
    if (replicas.length === 0) throw new Error(`master ${killed} has no replica to promote`);
    // nodes.conf is kept: the restarted node rejoins, sees a newer config epoch for its slots,
    // and turns into a replica of the promoted node.
    return this.killAndRecover(killed, `a replica of node ${killed} to be promoted`, async () => {
      for (const candidate of replicas) {
        const info = await redisInfo(this.nodes[candidate] as RedisAddress, 'replication', {
          timeoutMs: PROBE_TIMEOUT_MS,
        }).catch(() => undefined);
        if (info?.get('role') !== 'master') continue;
        const cluster = await redisCommand(this.nodes[candidate] as RedisAddress, ['CLUSTER', 'INFO'], {
          timeoutMs: PROBE_TIMEOUT_MS,
        }).catch(() => '');
        if (String(cluster).includes('cluster_state:ok')) return candidate;
      }
      return undefined;
    });
  }
}

/** Runs `redis-cli --cluster create`; rejects with its output when it fails. */
function createCluster(redisCli: string, nodes: RedisAddress[], replicas: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ];
    const child = spawn(redisCli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CREATE_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `redis-cli ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}:\n${output}`,
          ),
        );
    });
  });
}

/**
 * A Redis Cluster for one test run: `masters × (1 + replicas)` `redis-server --cluster-enabled`
 * processes (default 3 masters with one replica each) on loopback, each with its own temp dir,
 * `nodes.conf` and AOF (`appendfsync always`), joined by `redis-cli --cluster create`. Resolves once
 * every node reports `cluster_state:ok` and every replica is linked. Always from the binary.
 *
 * @example
 * ```ts
 * const redis = await startRedisCluster({ masters: 3, replicas: 1 });
 * const client = new Cluster(redis.nodes);
 * await redis.failover();
 * ```
 */
export async function startRedisCluster(options: RedisClusterStartOptions = {}): Promise<RedisClusterHandle> {
  const masters = checkCount('masters', options.masters ?? 3, 3);
  const replicas = checkCount('replicas', options.replicas ?? 1, 0);
  const nodeTimeoutMs = checkCount('nodeTimeoutMs', options.nodeTimeoutMs ?? 1_000, 100);
  const binary = redisServerBinary(options.searchPath);
  const redisCli = findBinary(
    { name: 'redis-cli', debianPackage: 'redis-tools', envVar: REDIS_ENV_VAR },
    options.searchPath,
  );
  const startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;

  const members = await startMembers(masters * (1 + replicas), 2, (i, all) => {
    const [client, bus] = all[i] as [number, number];
    return startRedisMember<ClusterPorts>({
      name: `redis-cluster-${i}`,
      binary,
      port: client,
      ports: { client, bus },
      allPorts: [client, bus],
      configName: 'redis.conf',
      config: (_tempDir, dataDir) => [
        // The default bus port is client + 10000, which may be taken or above 65535.
        `cluster-port ${bus}`,
        `dir ${dataDir}`,
        'cluster-enabled yes',
        'cluster-config-file nodes.conf',
        `cluster-node-timeout ${nodeTimeoutMs}`,
        ...DURABLE_DATA_NODE,
      ],
      startupTimeoutMs,
    });
  });
  return readyOrStopped(new RedisClusterTopology(members, startupTimeoutMs), async (topology) => {
    await createCluster(redisCli, [...topology.nodes], replicas);
    await topology.waitUntilHealthy();
  });
}
