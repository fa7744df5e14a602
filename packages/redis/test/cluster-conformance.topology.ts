import type { DiscoveryBackend } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { startRedisCluster } from '@roster/test-services';
import { Cluster } from 'ioredis';
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

/** The member index of the master serving `namespace` (every key carries the hash tag `{roster:<namespace>}`). */
const slotMaster = (namespace: string) => cluster.slotMaster(`{roster:${namespace}}`);

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
    failover: async ({ namespace }) => void (await cluster.failover({ master: await slotMaster(namespace) })),
    isolate: async (ms, { namespace }) => cluster.isolate(await slotMaster(namespace), ms),
    failoverTtl: FAILOVER_TTL,
  },
});
