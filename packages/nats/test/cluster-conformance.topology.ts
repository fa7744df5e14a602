// The conformance suite on a 3-node JetStream cluster with replicated buckets (issue 12), with the
// server faults applied to the whole cluster (restart every member, freeze every member) and the
// cluster faults applied to the member leading the case's bucket (kill it, freeze it).
import { describeConformance, waitFor } from '@roster/core/conformance';
import { type NatsClusterHandle, startNatsCluster } from '@roster/test-services';
import { afterAll, beforeEach } from 'vitest';
import { natsBackend } from '../src/index.js';

const cluster: NatsClusterHandle = await startNatsCluster({ size: 3 });
afterAll(() => cluster.stop());

interface Jsz {
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

/** After a restart of every member, each replicated stream elects its leader again: wait for all. */
async function streamsLed(): Promise<void> {
  await waitFor(
    'every stream to have a leader after the restart',
    async () => {
      try {
        const response = await fetch(`${cluster.monitorUrls[0]}/jsz?accounts=true&streams=true`);
        const jsz = (await response.json()) as Jsz;
        const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
        return streams.every((stream) => Boolean(stream.cluster?.leader));
      } catch {
        return false;
      }
    },
    30_000,
  );
}

/** The stream behind a namespace's records bucket (see bucket-layout.ts). */
const streamOf = (namespace: string) => `KV_roster_${namespace}`;

/**
 * The cluster fault cases' ttl. nats-server 2.9.10 elects a stream leader 4.7-7.8 s after the
 * leader is killed (docs/reliability.md), and an owner's heartbeat in that window may wait out a
 * 5 s request timeout before the next one is sent: a ttl must outlast both, and the interval.
 */
const FAILOVER_TTL = 30_000;

// A case that froze or restarted the cluster leaves it electing leaders for a few seconds; the
// next case starts on a cluster that serves again (open() would rightly time out meanwhile).
beforeEach(async () => {
  await cluster.waitUntilHealthy();
  await streamsLed();
}, 40_000);

describeConformance({
  name: 'nats (3-node cluster, replicas 3)',
  createBackend: ({ namespace }) => natsBackend({ servers: [...cluster.urls], namespace, replicas: 3 }),
  faults: {
    restart: async () => {
      await cluster.restart();
      await cluster.waitUntilHealthy();
      await streamsLed();
    },
    pause: (ms) => cluster.pause(ms),
    // The bucket's stream has its own raft group: its leader, not the meta leader, holds the data.
    failover: async ({ namespace }) => {
      await cluster.failover({ stream: streamOf(namespace) });
      await streamsLed();
    },
    isolate: async (ms, { namespace }) =>
      cluster.isolate((await cluster.leader(streamOf(namespace))) ?? 0, ms),
    failoverTtl: FAILOVER_TTL,
  },
});
