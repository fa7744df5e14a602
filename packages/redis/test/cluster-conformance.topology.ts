import type { DiscoveryBackend } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { startRedisCluster } from '@roster/test-services';
import { Cluster } from 'ioredis';
import { afterAll } from 'vitest';
import { redisBackend } from '../src/index.js';

// The whole suite on a Redis Cluster (3 masters), through ioredis Cluster clients. Faults (restart,
// pause) are single-server hooks and are not given here; failover is covered in topologies.test.ts.
const cluster = await startRedisCluster({ masters: 3, replicas: 0 });
afterAll(() => cluster.stop());

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

describeConformance({
  name: 'redis cluster',
  createBackend: ({ namespace }) => onOwnCluster(namespace),
});
