// The conformance suite on a 3-member etcd cluster (issue 12), the backend given every member's
// URL: the server faults act on the whole cluster (restart every member, freeze every member),
// the cluster faults on the raft leader (kill it, freeze it).
import { describeConformance } from '@roster/core/conformance';
import { type EtcdClusterHandle, startEtcdCluster } from '@roster/test-services';
import { afterAll, beforeEach } from 'vitest';
import { etcdBackend } from '../src/index.js';

const cluster: EtcdClusterHandle = await startEtcdCluster({ size: 3 });
afterAll(() => cluster.stop());

/**
 * The cluster fault cases' ttl. An election takes 1-4 s here (election timeout 1 s) and etcd
 * extends every lease when a new leader takes over; an owner whose keep-alive sat on the killed
 * member may also wait out one 5 s request timeout before it reaches another member.
 */
const FAILOVER_TTL = 10_000;

// A case that froze, restarted or failed over a member leaves the cluster electing for a moment:
// the next case starts on a cluster that serves again (open() would rightly time out meanwhile).
beforeEach(() => cluster.waitUntilHealthy(), 40_000);

describeConformance({
  name: 'etcd (3-member cluster)',
  createBackend: ({ namespace }) => etcdBackend({ hosts: [...cluster.urls], namespace }),
  faults: {
    restart: () => cluster.restart(),
    pause: (ms) => cluster.pause(ms),
    failover: async () => void (await cluster.failover()),
    isolate: async (ms) => cluster.isolate((await cluster.leader()) ?? 0, ms),
    failoverTtl: FAILOVER_TTL,
  },
});
