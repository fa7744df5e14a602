// The conformance suite on a 3-member etcd cluster (issue 12), the backend given every member's
// URL: the server faults act on the whole cluster (restart every member, freeze every member),
// the cluster faults on the raft leader (kill it) and on a follower (freeze it; see below).
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

/**
 * The suite's ttl here: 2 s, the shortest lease a cluster with the default 1 s election timeout
 * grants (1.5 election timeouts, rounded up to whole seconds). Heartbeats are then lease
 * keep-alives, as in production. At the suite's default 1 s every heartbeat would be a raft write
 * (the `observed` plan, covered by the default-server tests in etcd.test.ts) and "1,000 nodes" would
 * ask for 3,000 writes/s where this machine's cluster commits ~450/s (README, "What a node costs
 * the server").
 */
const TTL = 2_000;

describeConformance({
  name: 'etcd (3-member cluster)',
  ttl: TTL,
  createBackend: ({ namespace }) => etcdBackend({ hosts: [...cluster.urls], namespace }),
  faults: {
    restart: () => cluster.restart(),
    pause: (ms) => cluster.pause(ms),
    failover: async () => void (await cluster.failover()),
    // A follower, not the leader: etcd 3.4.23 (Debian's) has etcd-io/etcd#15247 — a leader frozen
    // past a lease's ttl revokes, as it thaws, leases the new leader kept renewing — which fails the
    // case whatever a client does (reproduced with a plain etcd3 client, 1 try in 4; fixed by
    // etcd-io/etcd#16822, backported to 3.4 and 3.5). Clients on the frozen member must still move.
    isolate: async (ms) => cluster.isolate((((await cluster.leader()) ?? 0) + 1) % cluster.size, ms),
    failoverTtl: FAILOVER_TTL,
  },
});
