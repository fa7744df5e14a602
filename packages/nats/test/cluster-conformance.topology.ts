// The conformance suite on a 3-node JetStream cluster with replicated buckets (issue 12), with the
// server faults applied to the whole cluster (restart every member, freeze every member).
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
  },
});
