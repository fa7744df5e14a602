// The conformance suite on Redis behind Sentinel (issue 12): a primary, one replica and three
// sentinels, the backend given `sentinels` and `name`. The server faults act on every process at
// once (restart, freeze); the cluster faults on the primary (kill it, freeze it), after which the
// sentinels promote the replica.
import { describeConformance } from '@roster/core/conformance';
import { type RedisSentinelHandle, startRedisSentinel } from '@roster/test-services';
import { afterAll, beforeEach } from 'vitest';
import { redisBackend } from '../src/index.js';

const topology: RedisSentinelHandle = await startRedisSentinel({ replicas: 1 });
afterAll(() => topology.stop());

/**
 * The cluster fault cases' ttl. The sentinels promote the replica about 2.3 s after the primary
 * is killed (down-after 1 s; docs/reliability.md), and an owner's call to the dead primary may
 * wait out a 5 s request timeout before ioredis asks the sentinels again.
 */
const FAILOVER_TTL = 10_000;

// A case that froze, restarted or failed over a node leaves the sentinels reconfiguring for a
// moment: the next case starts on a topology that serves again.
beforeEach(() => topology.waitUntilHealthy(), 40_000);

describeConformance({
  name: 'redis sentinel (primary, 1 replica, 3 sentinels)',
  createBackend: ({ namespace }) =>
    redisBackend({
      sentinels: topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: topology.name,
      namespace,
    }),
  faults: {
    restart: () => topology.restart(),
    pause: (ms) => topology.pause(ms),
    failover: async () => void (await topology.failover()),
    isolate: async (ms) => topology.isolate((await topology.primary()).index ?? 0, ms),
    failoverTtl: FAILOVER_TTL,
  },
});
