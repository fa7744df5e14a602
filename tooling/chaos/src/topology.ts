// Starts the servers of one backend (single or clustered) through @roster/test-services and lists
// the faults the schedule may inject on them.
import { createMemoryStore, type MemoryStore } from '@roster/memory';
import {
  type FailoverReport,
  startEtcd,
  startEtcdCluster,
  startNats,
  startNatsCluster,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
  stopAllServices,
} from '@roster/test-services';
import type { BackendSpec } from './backend-spec.js';
import type { Prng } from './prng.js';

export type BackendName = 'memory' | 'nats' | 'redis' | 'etcd';
export const BACKENDS: readonly BackendName[] = ['memory', 'nats', 'redis', 'etcd'];

export interface ServerFault {
  readonly name: string;
  /** Resolves once the fault is over and the servers are back (healthy, for a cluster). */
  run(): Promise<void>;
}

export interface Topology {
  readonly spec: BackendSpec;
  readonly memoryStore?: MemoryStore;
  readonly description: string;
  /** A fault drawn from what this topology supports. */
  nextFault(rng: Prng, ttl: number): ServerFault;
  /**
   * Clustered topologies: kills the leader (or primary) that serves this run's namespace, waits
   * for a new one, brings the killed member back and waits until the cluster is healthy.
   */
  failover?: () => Promise<FailoverReport>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Single-server faults shared by every server process handle. */
function singleServerFault(
  rng: Prng,
  ttl: number,
  server: { restart(): Promise<void>; kill(): Promise<void>; pause(ms: number): Promise<void> },
): ServerFault {
  const shortPause = Math.round(ttl / 4);
  const longPause = Math.round(ttl * 1.5);
  return rng.pick<ServerFault>([
    { name: 'restart', run: () => server.restart() },
    { name: `pause ${shortPause} ms`, run: () => server.pause(shortPause) },
    { name: `pause ${longPause} ms`, run: () => server.pause(longPause) },
    {
      name: `kill, down ${longPause} ms, restart`,
      run: async () => {
        await server.kill();
        await sleep(longPause);
        await server.restart();
      },
    },
  ]);
}

/**
 * Starts the servers of `backend`. `namespace` is the one the run's owners and watchers use: a
 * clustered failover kills the member that leads its data (the NATS stream leader of its bucket,
 * the Redis Cluster master of its slot), not a member that merely leads something else.
 */
export async function startTopology(
  backend: BackendName,
  cluster: boolean,
  redisTopology: 'sentinel' | 'cluster' = 'sentinel',
  namespace = 'default',
): Promise<Topology> {
  const stop = () => stopAllServices();
  if (backend === 'memory') {
    const store = createMemoryStore();
    return {
      spec: { kind: 'memory' },
      memoryStore: store,
      description: 'in-process store',
      nextFault(rng, ttl) {
        const shortPause = Math.round(ttl / 4);
        const longPause = Math.round(ttl * 1.5);
        return rng.pick<ServerFault>([
          { name: 'restart', run: () => store.faults.restart() },
          { name: `restart, down ${longPause} ms`, run: () => store.faults.restart(longPause) },
          { name: `pause ${shortPause} ms`, run: () => store.faults.pause(shortPause) },
          { name: `pause ${longPause} ms`, run: () => store.faults.pause(longPause) },
        ]);
      },
      stop: async () => {},
    };
  }
  if (!cluster) {
    const server =
      backend === 'nats'
        ? await startNats()
        : backend === 'redis'
          ? await startRedis({ appendonly: true })
          : await startEtcd();
    const spec: BackendSpec =
      backend === 'nats'
        ? { kind: 'nats', servers: [server.url], replicas: 1 }
        : backend === 'redis'
          ? { kind: 'redis', url: server.url }
          : { kind: 'etcd', hosts: [server.url] };
    return {
      spec,
      description: `one ${backend} server (${server.source})`,
      nextFault: (rng, ttl) => singleServerFault(rng, ttl, server),
      stop,
    };
  }
  const clusterFaults =
    (
      handle: { size: number; isolate(i: number, ms: number): Promise<void> },
      failover: () => Promise<FailoverReport>,
    ) =>
    (rng: Prng, ttl: number): ServerFault => {
      const member = rng.int(0, handle.size - 1);
      const shortIsolation = Math.round(ttl / 4);
      const longIsolation = Math.round(ttl * 1.5);
      return rng.pick<ServerFault>([
        { name: 'failover', run: async () => void (await failover()) },
        {
          name: `isolate member ${member} ${shortIsolation} ms`,
          run: () => handle.isolate(member, shortIsolation),
        },
        {
          name: `isolate member ${member} ${longIsolation} ms`,
          run: () => handle.isolate(member, longIsolation),
        },
      ]);
    };
  if (backend === 'nats') {
    const nats = await startNatsCluster({ size: 3 });
    // The bucket's stream (KV_roster_<namespace>, see @roster/nats bucket-layout.ts) has its own
    // raft group: killing the meta leader alone may leave the stream leader untouched.
    const failover = () => nats.failover({ stream: `KV_roster_${namespace}` });
    return {
      spec: { kind: 'nats', servers: nats.urls, replicas: 3 },
      description: 'NATS cluster, 3 members, replicas 3',
      nextFault: clusterFaults(nats, failover),
      failover,
      stop,
    };
  }
  if (backend === 'etcd') {
    const etcd = await startEtcdCluster({ size: 3 });
    const failover = () => etcd.failover();
    return {
      spec: { kind: 'etcd', hosts: etcd.urls },
      description: 'etcd cluster, 3 members',
      nextFault: clusterFaults(etcd, failover),
      failover,
      stop,
    };
  }
  if (redisTopology === 'cluster') {
    const redis = await startRedisCluster({ masters: 3, replicas: 1 });
    // Every key of a namespace carries the hash tag {roster:<namespace>} (@roster/redis
    // key-layout.ts): one slot, one master. That master is the one to kill.
    const failover = async () =>
      redis.failover({ master: await redis.slotMaster(`{roster:${namespace}}:records`) });
    return {
      spec: { kind: 'redis-cluster', nodes: redis.nodes },
      description: 'Redis Cluster, 3 masters x 1 replica',
      nextFault: clusterFaults(redis, failover),
      failover,
      stop,
    };
  }
  const redis = await startRedisSentinel();
  const failover = () => redis.failover();
  return {
    spec: { kind: 'redis-sentinel', sentinels: redis.sentinels, name: redis.name },
    description: 'Redis Sentinel, primary + 1 replica, 3 sentinels',
    nextFault: clusterFaults(redis, failover),
    failover,
    stop,
  };
}
