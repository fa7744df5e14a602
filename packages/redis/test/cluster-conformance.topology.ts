import type { DiscoveryBackend } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { type RedisAddress, startRedisCluster } from '@roster/test-services';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeEach } from 'vitest';
import { redisBackend } from '../src/index.js';

// The whole suite on a Redis Cluster (3 masters, one replica each), through ioredis Cluster
// clients. The server faults act on every node at once (restart, freeze); the cluster faults on
// the master of the case's slot (kill it, freeze it), whose replica then takes over.
const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
afterAll(() => cluster.stop());

/**
 * The cluster fault cases' ttl. A replica is promoted about 2-2.7 s after its master is killed
 * (cluster-node-timeout 1 s; docs/reliability.md), and an owner's call to the dead master may wait
 * out a 5 s request timeout before the client follows the new slot map.
 */
const FAILOVER_TTL = 10_000;

/** `CLUSTER SLOTS` rows: [first slot, last slot, [host, port, id], ...replicas]. */
type SlotRow = [number, number, [string, number, ...unknown[]], ...unknown[]];

/**
 * The member index of the master serving `namespace`'s slot: every key of a namespace carries the
 * hash tag `{roster:<namespace>}` (key-layout.ts), so one master holds all of it.
 */
async function slotMaster(nodes: readonly RedisAddress[], namespace: string): Promise<number> {
  let lastError: unknown;
  for (const node of nodes) {
    const client = new Redis({
      ...node,
      lazyConnect: true,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // a dead or frozen node: ask the next one
    try {
      await client.connect();
      const slot = Number(await client.cluster('KEYSLOT', `{roster:${namespace}}`));
      const rows = (await client.cluster('SLOTS')) as unknown as SlotRow[];
      const row = rows.find(([first, last]) => first <= slot && slot <= last);
      const index = row ? nodes.findIndex((n) => n.port === Number(row[2][1])) : -1;
      if (index >= 0) return index;
      lastError = new Error(`no member serves slot ${slot}`);
    } catch (error) {
      lastError = error;
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`could not find the master of namespace ${namespace}: ${(lastError as Error)?.message}`);
}

/** A backend on its own Cluster client, which it closes with itself (the suite creates many). */
function onOwnCluster(namespace: string): DiscoveryBackend {
  const client = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
  const backend = redisBackend({ client, namespace });
  return {
    name: backend.name,
    get supports() {
      return backend.supports;
    },
    open: (context) => backend.open(context),
    put: (key, value, options) => backend.put(key, value, options),
    delete: (key, condition) => backend.delete(key, condition),
    get: (key) => backend.get(key),
    list: () => backend.list(),
    watch: (cursor, onChange) => backend.watch(cursor, onChange),
    history: (key, limit) => backend.history!(key, limit),
    close: async () => {
      await backend.close();
      client.disconnect();
    },
  };
}

// A case that froze, restarted or failed over a node leaves the cluster reconfiguring for a
// moment: the next case starts on a cluster that serves again.
beforeEach(() => cluster.waitUntilHealthy(), 40_000);

describeConformance({
  name: 'redis cluster (3 masters x 1 replica)',
  createBackend: ({ namespace }) => onOwnCluster(namespace),
  faults: {
    restart: () => cluster.restart(),
    pause: (ms) => cluster.pause(ms),
    failover: async ({ namespace }) =>
      void (await cluster.failover({ master: await slotMaster(cluster.nodes, namespace) })),
    isolate: async (ms, { namespace }) => cluster.isolate(await slotMaster(cluster.nodes, namespace), ms),
    failoverTtl: FAILOVER_TTL,
  },
});
