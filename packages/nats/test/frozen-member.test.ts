// An owner connected to a frozen cluster member (SIGSTOP: its socket stays open, nothing answers)
// moves to a member that still serves, so its node never expires there (issue 12, rule 4 of
// docs/guarantees.md). Real 3-node JetStream cluster; see unresponsive-server.ts.
import { createDiscovery, type NodeDiscovery } from '@roster/core';
import { Recorder, waitFor } from '@roster/core/conformance';
import {
  freshNamespace,
  type NatsClusterHandle,
  open as openForTest,
  startNatsCluster,
} from '@roster/test-services';
import { afterAll, describe, expect, it } from 'vitest';
import { natsBackend } from '../src/index.js';
import { pingIntervalFor } from '../src/unresponsive-server.js';

const cluster: NatsClusterHandle = await startNatsCluster({ size: 3 });
afterAll(() => cluster.stop());

/** Pings every second (ttl / 10, at least 1 s): the frozen member is left 2-3 s into the freeze. */
const TTL = 6_000;
/** Twice the ttl: an owner that stayed on the frozen member would lose its node. */
const FREEZE = 2 * TTL;

/** A discovery whose connection starts on `servers[0]` (no shuffling), closed when the test ends. */
function openOn(namespace: string, servers: string[], onOwnNodeLost?: () => void): Promise<NodeDiscovery> {
  return openForTest(() =>
    createDiscovery({
      backend: natsBackend({ servers, namespace, replicas: 3, noRandomize: true }),
      ttl: TTL,
      ...(onOwnNodeLost ? { onOwnNodeLost } : {}),
    }),
  );
}

describe('nats backend on a 3-node cluster: one member frozen', () => {
  it('an owner connected to a frozen member moves to another member before its node expires: nothing leaves across a freeze of 2 × ttl', async ({
    onTestFinished,
  }) => {
    expect(pingIntervalFor(TTL)).toBe(1_000);
    const ns = freshNamespace('cl_frozen_');
    const urls = [...cluster.urls];
    // Open once so the bucket exists, then freeze a member that leads neither the stream nor the
    // meta group: no election is involved, only the owner's connection is stuck.
    const watcher = await openOn(ns, urls);
    const leaders = new Set([await cluster.leader(`KV_roster_${ns}`), await cluster.leader()]);
    const frozen = [0, 1, 2].find((i) => !leaders.has(i)) ?? 0;
    const others = urls.filter((_, i) => i !== frozen);
    const lost: string[] = [];
    const owner = await openOn(ns, [urls[frozen] as string, ...others], () => lost.push('cl-frozen'));
    // The watcher reads through a member that keeps serving.
    const watched = new Recorder(await openOn(ns, others));
    onTestFinished(() => watched.stop());
    await owner.register({ id: 'cl-frozen' });
    await watched.joined('cl-frozen');

    const frozenAt = Date.now();
    const thawed = cluster.isolate(frozen, FREEZE);
    // An explicit heartbeat goes through once the owner left the frozen member (one sent before
    // may wait out the request timeout on it).
    await waitFor(
      'a heartbeat of the owner to go through another member',
      () =>
        owner.heartbeat('cl-frozen').then(
          () => true,
          () => false,
        ),
      TTL,
    );
    const movedAfter = Date.now() - frozenAt;
    await thawed;
    // Checked the moment the member resumes: the whole freeze (2 × ttl) is behind us.
    console.info(`owner left the frozen member: a heartbeat went through ${movedAfter} ms into the freeze`);

    expect(lost, 'rule 4: the owner lost its node while a member was frozen').toEqual([]);
    expect(watched.summary('cl-frozen'), 'rule 4: the watcher saw the heartbeating node leave').toEqual([
      'joined:cl-frozen',
    ]);
    expect(watcher.get('cl-frozen')?.id).toBe('cl-frozen');
    // Not checked after the thaw: the thawed member, a raft follower whose election timer ran out
    // while frozen, makes the stream elect a leader again (a server behaviour, seen taking ~4 s on
    // nats-server 2.9.10), which is the failover case's matter, not this one's.
  }, 60_000);
});
